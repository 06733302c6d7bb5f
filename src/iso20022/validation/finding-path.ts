/**
 * Paths of findings from the element tree. The tree has no parent pointers, so the walkers keep the chain of
 * ancestors and the path string is only built when a finding is made (rarely), never per element.
 */
import type { XmlElement } from '../xml/tree.js';
import { pathStep } from './paths.js';

/** '/Document/...' from a chain of elements, the part's root first and the element itself last. */
export function pathOf(chain: readonly XmlElement[], length = chain.length): string {
  let out = '';
  for (let i = 0; i < length; i += 1) {
    const el = chain[i]!;
    const parent = i === 0 ? undefined : chain[i - 1];
    if (parent === undefined) {
      out += `/${el.name}`;
      continue;
    }
    let index = 0;
    let same = 0;
    for (const sibling of parent.children) {
      if (sibling.name !== el.name) continue;
      same += 1;
      if (sibling === el) index = same;
    }
    out += `/${pathStep(el.name, index, same)}`;
  }
  return out;
}

/** Path of `el` below a known chain (for elements found by navigation rather than by the walk). */
export function pathBelow(chain: readonly XmlElement[], ...below: XmlElement[]): string {
  return pathOf([...chain, ...below]);
}
