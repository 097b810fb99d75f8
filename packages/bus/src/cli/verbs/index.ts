// The registry of CLI verbs, in the order the top-level help lists them.
import type { Verb } from '../verb.js';
import { benchVerb } from './bench.js';

export const VERBS: readonly Verb[] = [benchVerb];
