// Service activation without a broker: public surface for the core and the CLI.
export { Activator, ACTIVATION_TIMEOUT_MS, type ActivationOptions, type ActivatorHost, type StartResult } from './activator.js';
export { ActivationErrors } from './errors.js';
export { parseExecLine } from './exec-line.js';
export { parseServiceFile, type ServiceFile } from './service-file.js';
export { sessionServiceDirs, findServiceFile, activatableNames } from './service-dirs.js';
export {
  readActivationConfig,
  writeActivationConfig,
  readActivationEnv,
  updateActivationEnv,
  registerGateway,
  gatewayAddress,
  type ActivationConfig,
} from './bus-files.js';
