// The run config: one schema for HTTP job configs and `qat run` flags; defaults echoed, every bad field named.
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../src/errors/index.js';
import { resolveRunConfig } from '../../src/services/runConfig.js';

const problems = (input: unknown) => {
  try {
    resolveRunConfig(input);
  } catch (err) {
    if (err instanceof ValidationError) return err.fields;
    throw err;
  }
  throw new Error('expected a ValidationError');
};

describe('resolveRunConfig', () => {
  it('fills every default and keeps what was given', () => {
    const c = resolveRunConfig({ weight_bits: 4, per_channel: false, label_column: 'target' });
    expect(c).toMatchObject({ weight_bits: 4, per_channel: false, label_column: 'target', qat_epochs: 2, batch_size: 128, activation_bits: 8, observer: 'minmax', test_fraction: 0.2 });
    expect(c).not.toHaveProperty('task');
    expect(c).not.toHaveProperty('epochs'); // resolved against the model: 3 without trained weights, 0 with them
  });

  it('does not change the caller’s object', () => {
    const input = { epochs: 1 };
    resolveRunConfig(input);
    expect(input).toEqual({ epochs: 1 });
  });

  it('names each bad field once with the value received and what is allowed', () => {
    expect(problems({ weight_bits: 9, epochs: 'many', observer: 'max', activation_bits: 4, lr: 0, per_channel: 'yes', colour: 'red' })).toEqual(
      expect.arrayContaining([
        { field: 'weight_bits', reason: 'must be <= 8, got 9' },
        { field: 'epochs', reason: "must be an integer, got 'many'" },
        { field: 'observer', reason: "must be one of 'minmax', 'ema', 'percentile', 'mse', got 'max'" },
        { field: 'activation_bits', reason: 'must be one of 8, got 4' },
        { field: 'lr', reason: 'must be > 0, got 0' },
        { field: 'per_channel', reason: "must be a boolean, got 'yes'" },
        { field: 'colour', reason: expect.stringMatching(/^is not a known option \(known: task, .*weight_bits/) },
      ]),
    );
    expect(problems({ weight_bits: 9, epochs: 'many' })).toHaveLength(2);
  });

  it('refuses early stopping without a validation split, and a config that is not an object', () => {
    expect(problems({ patience: 3 })).toEqual([{ field: 'patience', reason: expect.stringMatching(/validation_fraction > 0/) }]);
    expect(resolveRunConfig({ patience: 3, validation_fraction: 0.1 }).patience).toBe(3);
    expect(problems([1, 2])).toEqual([{ field: 'config', reason: 'must be an object' }]);
    expect(problems(null)).toEqual([{ field: 'config', reason: 'must be an object' }]);
  });
});
