// Loads the ipnbus addon (prebuilt for this platform, else the node-gyp
// build) and adds the one JS-side helper that needs no syscall of its own.
'use strict';
const { readFileSync } = require('node:fs');
const addon = require('node-gyp-build')(__dirname);

/** The AF_IPN family number in use, or null when ipn.ko is not loaded. */
function ipnFamily() {
  try {
    const n = Number.parseInt(readFileSync(addon.constants.IPN_FAMILY_SYSFS, 'utf8').trim(), 10);
    return Number.isInteger(n) && n > 0 ? n : null;
  } catch {
    return null;
  }
}

module.exports = { ...addon, ipnFamily };
