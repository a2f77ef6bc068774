// Archives (.zip, .tar, .tar.gz/.tgz) unpacked into memory within limits, and the dataset they hold.
export { readArchive, archiveKind, type ArchiveKind, type ArchiveOptions } from './readArchive.js';
export { type ArchiveLimits, DEFAULT_ARCHIVE_LIMITS } from './limits.js';
export { type ByteSource } from './byteSource.js';
export { entryPath } from './entryPath.js';
export { datasetInArchive, formatOf, type ArchiveDataset, type TabularFormat } from './pick.js';
export { encodeZip, type ZipInput } from './encodeZip.js';
