/**
 * Public API of the validation layer: schema (XSD), built-in rules and scheme profiles.
 * Everything else in this folder is internal.
 */
export type { Finding, ValidationLayer, ValidationResult } from './types.js';
export { toResult } from './types.js';
export type { SchemaSource, SchemaValidatorOptions } from './xsd.js';
export { SchemaValidator, ISO20022_NAMESPACE_PREFIX } from './xsd.js';
export type { Severity } from './types.js';
export { errorsOf } from './types.js';
export type { BuiltinOptions } from './builtin.js';
export { validateBuiltin } from './builtin.js';
export { amountProblem } from './checks/amounts.js';
export type { AmountProblem } from './checks/amounts.js';
export { isIsoDate, isIsoDateTime } from './checks/dates.js';
export { bicProblem, ibanProblems, isCountryCode, isValidIban, leiProblem } from './checks/identifiers.js';
export type { BicProblem, IbanProblem, LeiProblem } from './checks/identifiers.js';
export type { CodeField } from './code-fields.js';
export { CODE_FIELDS, REPORT_FAMILIES } from './code-fields.js';
export type { CodeSet, CodeSetId } from '../codes/index.js';
export { CODE_SETS, isCodeSetId } from '../codes/index.js';
export type { Condition, Profile, ProfileRule, RuleKind, RuleScope } from '../profiles/types.js';
export type { CompiledProfile } from '../profiles/load.js';
export { compileProfile } from '../profiles/load.js';
export { validateProfile } from '../profiles/engine.js';
export type { ProfileId } from '../profiles/index.js';
export { PROFILES, detectProfile, getProfile } from '../profiles/index.js';
export { isValidAba } from '../profiles/aba.js';
export type { MessageValidatorOptions, ValidateOptions, ValidationReport } from './validate.js';
export { MessageValidator } from './validate.js';
