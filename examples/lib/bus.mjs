// How every example joins the bus: the high-level MessageBus on the address in
// $IPNBUS_ADDRESS (or the session default), so the same scripts run anywhere.
import { connect } from 'ipnbus';

export function openBus() {
  return connect();
}

/** Leave the bus and exit on Ctrl-C or a polite kill, so no member lingers. */
export function exitOnSignals(bus, onExit = () => {}) {
  const stop = () => {
    onExit();
    bus.disconnect();
    process.exit(0);
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}
