// What compiling the addon from source needs, found on PATH, and node-gyp's
// command line. Shared by the install script and the prebuild script.
'use strict';
const { accessSync, constants, existsSync } = require('node:fs');
const { delimiter, join } = require('node:path');

/** The full path of `program` on PATH, or null. */
function which(program) {
  if (program.includes('/')) return isExecutable(program) ? program : null;
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir && isExecutable(join(dir, program))) return join(dir, program);
  }
  return null;
}

function isExecutable(path) {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * The tools node-gyp's build needs that are missing, by the name to install:
 * python3 (gyp), make, and a C++ compiler ($CXX, else g++ or c++).
 */
function missingTools() {
  const missing = [];
  const python = process.env.npm_config_python || process.env.PYTHON || 'python3';
  if (!which(python)) missing.push(`python3 (looked for '${python}')`);
  if (!which('make')) missing.push('make');
  const cxx = process.env.CXX ? [process.env.CXX.split(' ')[0]] : ['g++', 'c++'];
  if (!cxx.some((c) => which(c))) missing.push(`a C++ compiler (looked for ${cxx.map((c) => `'${c}'`).join(', ')}; Debian/Ubuntu: g++)`);
  return missing;
}

/**
 * The command line running node-gyp `verb` for the package in `packageDir`:
 * npm's own node-gyp when run by npm (npm_config_node_gyp), else the one
 * installed beside this package; the distribution's Node headers
 * (/usr/include/node) when present, so that nothing is downloaded.
 */
function nodeGypArgs(packageDir, verb) {
  const gyp = process.env.npm_config_node_gyp || require.resolve('node-gyp/bin/node-gyp.js', { paths: [packageDir] });
  // The addon is several translation units, each parsing napi.h: compile
  // them on every core (make -j), or a prebuild takes several times longer.
  const args = [gyp, verb, '--jobs=max'];
  if (!process.env.npm_config_nodedir && existsSync('/usr/include/node/node_api.h')) args.push('--nodedir=/usr');
  return args;
}

module.exports = { which, missingTools, nodeGypArgs };
