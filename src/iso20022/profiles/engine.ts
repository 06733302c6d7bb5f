/**
 * Interprets a compiled profile against a split message (see message.ts) and returns its findings. Each rule
 * applies to the families it lists ('*' for all) and is skipped when its scope (the Document's message element or
 * the AppHdr) is absent from the message.
 */
import type { SplitMessage } from '../message.js';
import type { XmlElement } from '../xml/tree.js';
import { pathOf } from '../validation/finding-path.js';
import type { Finding } from '../validation/types.js';
import { isValidAba } from './aba.js';
import type { CompiledProfile, CompiledRule, RuleBase } from './load.js';
import { selectChains, selectValues, type CompiledPath } from './select.js';

export function validateProfile(message: SplitMessage, profile: CompiledProfile): Finding[] {
  const family = message.documentId?.family ?? message.headerId?.family ?? '';
  const out: Finding[] = [];
  for (const rule of profile.rules) {
    if (!rule.base.families.has('*') && !rule.base.families.has(family)) continue;
    if (rule.kind === 'wrapper') {
      checkWrapper(rule, message, family, out);
      continue;
    }
    const root = scopeRoot(message, rule.base);
    if (root !== undefined) checkRule(rule, root, message, out);
  }
  return out;
}

function scopeRoot(message: SplitMessage, base: RuleBase): XmlElement[] | undefined {
  if (base.scope === 'header') return message.appHdr === undefined ? undefined : [message.appHdr];
  const doc = message.document;
  const body = doc?.children[0];
  return doc === undefined || body === undefined ? undefined : [doc, body];
}

function add(out: Finding[], base: RuleBase, chain: readonly XmlElement[], detail?: string): void {
  const el = chain[chain.length - 1];
  out.push({
    layer: 'profile', severity: 'error', rule: base.id, code: base.code, path: pathOf(chain),
    ...(el !== undefined && el.line > 0 ? { line: el.line } : {}),
    message: detail === undefined ? base.message : `${base.message} (${detail})`,
  });
}

function checkRule(rule: Exclude<CompiledRule, { kind: 'wrapper' }>, root: XmlElement[], message: SplitMessage, out: Finding[]): void {
  switch (rule.kind) {
    case 'required': {
      const items = rule.each === undefined ? [root] : selectChains(root, rule.each);
      for (const item of items) {
        if (rule.when !== undefined && !selectValues(item, rule.when.path).some((h) => rule.when!.values.has(h.value))) continue;
        for (const p of rule.paths) {
          const present = p === '$header' ? message.appHdr !== undefined : selectChains(item, p).length > 0;
          if (!present) add(out, rule.base, item, `missing ${p === '$header' ? 'AppHdr' : p.source}`);
        }
      }
      return;
    }
    case 'forbidden':
      for (const chain of selectChains(root, rule.path)) add(out, rule.base, chain);
      return;
    case 'pattern':
      for (const hit of selectValues(root, rule.path)) {
        if (!rule.pattern.test(hit.value)) add(out, rule.base, hit.chain, `"${hit.value}"`);
      }
      return;
    case 'allowed': {
      const hits = selectValues(root, rule.path);
      if (rule.any) {
        if (!hits.some((h) => rule.values.has(h.value))) add(out, rule.base, root, hits.map((h) => h.value).join(', ') || 'none');
        return;
      }
      for (const hit of hits) if (!rule.values.has(hit.value)) add(out, rule.base, hit.chain, `"${hit.value}"`);
      return;
    }
    case 'disallowed':
      for (const hit of selectValues(root, rule.path)) if (rule.values.has(hit.value)) add(out, rule.base, hit.chain, `"${hit.value}"`);
      return;
    case 'equals': {
      const left = selectValues(root, rule.path)[0];
      const right = rule.other === '$documentId' ? message.documentId?.id : first(root, rule.other);
      if (left !== undefined && right !== undefined && left.value !== right) {
        add(out, rule.base, left.chain, `"${left.value}" is not "${right}"`);
      }
      return;
    }
    case 'checksum':
      for (const hit of selectValues(root, rule.path)) {
        if (!rule.exempt.has(hit.value) && !isValidAba(hit.value)) add(out, rule.base, hit.chain, `"${hit.value}"`);
      }
      return;
  }
}

function first(root: XmlElement[], path: CompiledPath): string | undefined {
  return selectValues(root, path)[0]?.value;
}

function checkWrapper(rule: Extract<CompiledRule, { kind: 'wrapper' }>, message: SplitMessage, family: string, out: Finding[]): void {
  const wrapper = message.wrapperPath[message.wrapperPath.length - 1];
  if (wrapper === undefined || message.documentId === undefined) return;
  const expected = rule.wrappers.get(wrapper);
  if (expected === undefined || expected === family) return;
  out.push({
    layer: 'profile', severity: 'error', rule: rule.base.id, code: rule.base.code,
    path: `/${message.wrapperPath.join('/')}`,
    message: `${rule.base.message} (<${wrapper}> holds ${expected} messages, not ${family})`,
  });
}
