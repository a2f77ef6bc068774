// Builtin datasets by name (`builtin:NAME`): a pure registry, and loading with the file reading injected.
export { BUILTINS, BUILTIN_NAMES, builtinName, builtinSpec, type BuiltinFile, type BuiltinName, type BuiltinReader, type BuiltinSource, type BuiltinSpec } from './registry.js';
export { loadBuiltin, type LoadedBuiltin } from './load.js';
