/**
 * The scheme profiles shipped with mxgate, compiled once at start-up, and the engine that applies them.
 * A profile is chosen per client (configuration) or per message (`detectProfile` reads the AppHdr and envelope).
 */
import type { SplitMessage } from '../message.js';
import cbprPlus from './cbpr-plus.json' with { type: 'json' };
import fednow from './fednow.json' with { type: 'json' };
import { compileProfile, type CompiledProfile } from './load.js';

export const PROFILES: ReadonlyMap<string, CompiledProfile> = new Map(
  [compileProfile(cbprPlus), compileProfile(fednow)].map((p) => [p.id, p]),
);

export type ProfileId = 'cbpr+' | 'fednow';

/** The shipped profile with this id, or undefined. */
export function getProfile(id: string): CompiledProfile | undefined {
  return PROFILES.get(id);
}

/**
 * Which shipped profile a message declares it follows, if any: CBPR+ through the AppHdr BizSvc (swift.cbprplus.*),
 * FedNow through the AppHdr market practice (frb.fednow.*) or a FedNow envelope.
 */
export function detectProfile(message: SplitMessage): ProfileId | undefined {
  const hdr = message.appHdr;
  const bizSvc = hdr?.children.find((c) => c.name === 'BizSvc')?.text ?? '';
  if (bizSvc.startsWith('swift.cbprplus.')) return 'cbpr+';
  const practice = hdr?.children.find((c) => c.name === 'MktPrctc')?.children.find((c) => c.name === 'Id')?.text ?? '';
  if (practice.startsWith('frb.fednow.')) return 'fednow';
  if (message.wrapperPath.some((name) => name.startsWith('FedNow'))) return 'fednow';
  return undefined;
}
