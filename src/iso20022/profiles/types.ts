/**
 * Scheme profiles as data: a profile is a list of declarative rules that a small engine (engine.ts) interprets.
 * The JSON files beside this one are the profiles; load.ts checks their shape and compiles them once.
 *
 * Paths are local names separated by '/', relative to the scope's root: 'document' is the message element (the
 * Document's only child, e.g. FIToFICstmrCdtTrf), 'header' is the AppHdr. '**' matches any number of levels and a
 * last step '@Name' selects an attribute. '$documentId' stands for the Document's message identifier (from its
 * namespace, e.g. 'pacs.008.001.08').
 *
 * Rule kinds:
 *   required    every `path` must be present (in each `each` block; only when `when` holds there)
 *   forbidden   `path` must be absent
 *   pattern     every value at `path` matches `pattern`
 *   allowed     every value at `path` is one of `values` (mode 'any': at least one value at `path` is)
 *   disallowed  no value at `path` is one of `values`
 *   equals      the value at `path` equals the value at `other` (both present)
 *   checksum    every value at `path` passes the check-digit `algorithm` ('aba'), except the `exempt` values
 *   wrapper     the envelope element around the message (innermost wrapper) names the message's family
 *               (`wrappers`: element name -> family); wrappers not listed are not judged
 */

export type RuleScope = 'document' | 'header';

interface RuleBase {
  /** Stable id reported in findings, e.g. 'fednow.ccy.usd'. */
  readonly id: string;
  /** Families the rule applies to ('pacs.008'...); '*' for all. */
  readonly families: readonly string[];
  /** The ISO status reason code a rejection carries. */
  readonly code: string;
  /** What is wrong, for people. */
  readonly message: string;
  readonly scope?: RuleScope;
}

export interface Condition {
  readonly path: string;
  readonly values: readonly string[];
}

export type ProfileRule =
  | (RuleBase & { readonly kind: 'required'; readonly paths: readonly string[]; readonly each?: string; readonly when?: Condition })
  | (RuleBase & { readonly kind: 'forbidden'; readonly path: string })
  | (RuleBase & { readonly kind: 'pattern'; readonly path: string; readonly pattern: string })
  | (RuleBase & { readonly kind: 'allowed'; readonly path: string; readonly values: readonly string[]; readonly mode?: 'all' | 'any' })
  | (RuleBase & { readonly kind: 'disallowed'; readonly path: string; readonly values: readonly string[] })
  | (RuleBase & { readonly kind: 'equals'; readonly path: string; readonly other: string })
  | (RuleBase & { readonly kind: 'checksum'; readonly path: string; readonly algorithm: 'aba'; readonly exempt?: readonly string[] })
  | (RuleBase & { readonly kind: 'wrapper'; readonly wrappers: Readonly<Record<string, string>> });

export type RuleKind = ProfileRule['kind'];

export interface Profile {
  /** Short id used in configuration and on the command line: 'cbpr+', 'fednow'. */
  readonly id: string;
  readonly name: string;
  readonly description: string;
  readonly rules: readonly ProfileRule[];
}
