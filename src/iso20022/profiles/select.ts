/**
 * The small path language of profile rules (see types.ts), compiled once when a profile is loaded.
 *
 * A selection works on chains (the elements from the scope root down to the selected one) because the tree has
 * no parent pointers: '..' drops the last element of a chain, and a finding's path is built from its chain.
 */
import type { XmlElement } from '../xml/tree.js';

export type Step =
  | { readonly kind: 'names'; readonly names: ReadonlySet<string> }
  | { readonly kind: 'any' }
  | { readonly kind: 'descendants' }
  | { readonly kind: 'parent' };

export interface CompiledPath {
  readonly source: string;
  readonly steps: readonly Step[];
  /** Attribute read at the end ('@Ccy'), or undefined to read the element's text. */
  readonly attribute: string | undefined;
}

export interface Hit {
  readonly chain: readonly XmlElement[];
  readonly value: string;
}

const NAME = /^[A-Za-z][A-Za-z0-9]*$/;

export function compilePath(source: string): CompiledPath {
  const parts = source.split('/');
  let attribute: string | undefined;
  const last = parts[parts.length - 1] ?? '';
  if (last.startsWith('@')) {
    attribute = last.slice(1);
    parts.pop();
    if (!NAME.test(attribute)) throw new Error(`bad attribute in path "${source}"`);
  }
  const steps = parts.map((part): Step => {
    if (part === '*') return { kind: 'any' };
    if (part === '**') return { kind: 'descendants' };
    if (part === '..') return { kind: 'parent' };
    const names = part.startsWith('{') && part.endsWith('}') ? part.slice(1, -1).split(',') : [part];
    for (const name of names) if (!NAME.test(name)) throw new Error(`bad step "${part}" in path "${source}"`);
    return { kind: 'names', names: new Set(names) };
  });
  return { source, steps, attribute };
}

/** The elements a path reaches from `start` (a chain), in document order. */
export function selectChains(start: readonly XmlElement[], path: CompiledPath): XmlElement[][] {
  let current: XmlElement[][] = [[...start]];
  for (const step of path.steps) {
    const next: XmlElement[][] = [];
    for (const chain of current) expand(chain, step, next);
    current = next;
    if (current.length === 0) break;
  }
  return current;
}

/** The values (text, or the attribute) a path reaches, with the chain of the element holding each. */
export function selectValues(start: readonly XmlElement[], path: CompiledPath): Hit[] {
  const out: Hit[] = [];
  for (const chain of selectChains(start, path)) {
    const el = chain[chain.length - 1]!;
    if (path.attribute === undefined) {
      out.push({ chain, value: el.text });
      continue;
    }
    for (const a of el.attrs) if (a.name === path.attribute && a.ns === '') out.push({ chain, value: a.value });
  }
  return out;
}

function expand(chain: XmlElement[], step: Step, out: XmlElement[][]): void {
  const el = chain[chain.length - 1]!;
  switch (step.kind) {
    case 'parent':
      if (chain.length > 1) out.push(chain.slice(0, -1));
      return;
    case 'any':
      for (const c of el.children) out.push([...chain, c]);
      return;
    case 'names':
      for (const c of el.children) if (step.names.has(c.name)) out.push([...chain, c]);
      return;
    case 'descendants':
      descend(chain, out);
      return;
  }
}

/** The element itself and every element below it. */
function descend(chain: XmlElement[], out: XmlElement[][]): void {
  out.push(chain);
  const el = chain[chain.length - 1]!;
  for (const c of el.children) descend([...chain, c], out);
}
