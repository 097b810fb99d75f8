// The registry of CLI verbs, in the order the top-level help lists them.
import type { Verb } from '../verb.js';
import { benchVerb } from './bench.js';
import { callVerb } from './call.js';
import { codegenVerb } from './codegen.js';
import { demoVerb } from './demo.js';
import { emitVerb } from './emit.js';
import { gatewayVerb } from './gateway.js';
import { introspectVerb } from './introspect.js';
import { listVerb } from './list.js';
import { monitorVerb } from './monitor.js';

export const VERBS: readonly Verb[] = [
  demoVerb, monitorVerb, emitVerb, callVerb, listVerb, introspectVerb, gatewayVerb, codegenVerb, benchVerb,
];
