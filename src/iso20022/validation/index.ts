/**
 * Public API of the validation layer: schema (XSD), built-in rules and scheme profiles.
 * Everything else in this folder is internal.
 */
export type { Finding, ValidationLayer, ValidationResult } from './types.js';
export { toResult } from './types.js';
export type { SchemaSource, SchemaValidatorOptions } from './xsd.js';
export { SchemaValidator, ISO20022_NAMESPACE_PREFIX } from './xsd.js';
