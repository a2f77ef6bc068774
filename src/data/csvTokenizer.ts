// An RFC 4180 record tokenizer fed text a chunk at a time: quoted fields may hold delimiters, line breaks
// and doubled quotes; records end at LF, CRLF or CR; blank lines are skipped. Bad quoting is an error
// that names the line and column.
import { DatasetError, cellField } from './errors.js';

const QUOTE = 34;
const LF = 10;
const CR = 13;

const enum State {
  FieldStart,
  Unquoted,
  Quoted,
  QuoteInQuoted,
}

export type RecordSink = (fields: string[], line: number) => void;

export class CsvTokenizer {
  private state = State.FieldStart;
  private fields: string[] = [];
  private partial = '';
  /** Line where the current record started, and the current line. */
  private recordLine = 1;
  private line = 1;
  private skipLf = false;
  private quotedStartLine = 0;
  private readonly delim: number;

  constructor(
    delimiter: string,
    private readonly sink: RecordSink,
    private readonly fileField: string,
  ) {
    if (delimiter.length !== 1 || delimiter === '"' || delimiter === '\n' || delimiter === '\r') {
      throw new DatasetError('delimiter', `${JSON.stringify(delimiter)} cannot be a delimiter (one character other than quote or line break)`);
    }
    this.delim = delimiter.charCodeAt(0);
  }

  push(text: string): void {
    const delim = this.delim;
    const n = text.length;
    let i = 0;
    if (this.skipLf && n > 0) {
      if (text.charCodeAt(0) === LF) i = 1;
      this.skipLf = false;
    }
    let start = i;
    while (i < n) {
      const c = text.charCodeAt(i);
      switch (this.state) {
        case State.FieldStart:
          if (c === QUOTE) {
            this.state = State.Quoted;
            this.quotedStartLine = this.line;
            this.partial = '';
            start = i + 1;
          } else if (c === delim) {
            this.fields.push('');
            start = i + 1;
          } else if (c === LF || c === CR) {
            if (this.fields.length > 0) this.fields.push(''); // "a,b,\n": the last field is empty
            this.endRecord();
            if (c === CR) {
              if (i + 1 < n) {
                if (text.charCodeAt(i + 1) === LF) i++;
              } else this.skipLf = true;
            }
            start = i + 1;
          } else {
            this.state = State.Unquoted;
            this.partial = '';
            start = i;
            // scan the rest of the unquoted field
            i++;
            while (i < n) {
              const d = text.charCodeAt(i);
              if (d === delim || d === LF || d === CR || d === QUOTE) break;
              i++;
            }
            continue;
          }
          i++;
          break;
        case State.Unquoted: {
          if (c === delim) {
            this.fields.push(this.partial + text.slice(start, i));
            this.partial = '';
            this.state = State.FieldStart;
            start = i + 1;
          } else if (c === LF || c === CR) {
            this.fields.push(this.partial + text.slice(start, i));
            this.partial = '';
            this.state = State.FieldStart;
            this.endRecord();
            if (c === CR) {
              if (i + 1 < n) {
                if (text.charCodeAt(i + 1) === LF) i++;
              } else this.skipLf = true;
            }
            start = i + 1;
          } else if (c === QUOTE) {
            throw new DatasetError(
              `${this.fileField}: ${cellField(this.line, this.fields.length + 1)}`,
              'a quote inside an unquoted field (quote the whole field and double the quote, as RFC 4180 says)',
              { row: this.line, column: this.fields.length + 1 },
            );
          } else {
            i++;
            while (i < n) {
              const d = text.charCodeAt(i);
              if (d === delim || d === LF || d === CR || d === QUOTE) break;
              i++;
            }
            continue;
          }
          i++;
          break;
        }
        case State.Quoted: {
          const q = text.indexOf('"', i);
          const end = q < 0 ? n : q;
          for (let k = i; k < end; k++) {
            const d = text.charCodeAt(k);
            if (d === LF) this.line++;
            else if (d === CR && (k + 1 >= n || text.charCodeAt(k + 1) !== LF)) this.line++;
          }
          if (q < 0) {
            i = n;
            continue;
          }
          this.partial += text.slice(start, q);
          this.state = State.QuoteInQuoted;
          i = q + 1;
          start = i;
          break;
        }
        case State.QuoteInQuoted:
          if (c === QUOTE) {
            this.partial += '"';
            this.state = State.Quoted;
            start = i + 1;
            i++;
          } else if (c === delim) {
            this.fields.push(this.partial);
            this.partial = '';
            this.state = State.FieldStart;
            start = i + 1;
            i++;
          } else if (c === LF || c === CR) {
            this.fields.push(this.partial);
            this.partial = '';
            this.state = State.FieldStart;
            this.endRecord();
            if (c === CR) {
              if (i + 1 < n) {
                if (text.charCodeAt(i + 1) === LF) i++;
              } else this.skipLf = true;
            }
            i++;
            start = i;
          } else {
            throw new DatasetError(
              `${this.fileField}: ${cellField(this.line, this.fields.length + 1)}`,
              `unexpected ${JSON.stringify(text[i])} after a closing quote (a quoted field must end at a delimiter or line break)`,
              { row: this.line, column: this.fields.length + 1 },
            );
          }
          break;
      }
    }
    // Keep the unfinished field for the next chunk.
    if (this.state === State.Unquoted || this.state === State.Quoted) this.partial += text.slice(start, n);
  }

  end(): void {
    if (this.state === State.Quoted) {
      throw new DatasetError(
        `${this.fileField}: ${cellField(this.quotedStartLine, this.fields.length + 1)}`,
        'a quoted field is never closed (the file ends inside it)',
        { row: this.quotedStartLine, column: this.fields.length + 1 },
      );
    }
    if (this.state === State.Unquoted || this.state === State.QuoteInQuoted) {
      this.fields.push(this.partial);
      this.partial = '';
      this.state = State.FieldStart;
    } else if (this.fields.length > 0) {
      this.fields.push(''); // the file ends right after a delimiter
    }
    if (this.fields.length > 0) this.emit();
  }

  private endRecord(): void {
    // A line with nothing on it is not a record.
    if (this.fields.length === 0) {
      this.line++;
      this.recordLine = this.line;
      return;
    }
    this.emit();
    this.line++;
    this.recordLine = this.line;
  }

  private emit(): void {
    const f = this.fields;
    this.fields = [];
    this.sink(f, this.recordLine);
  }
}
