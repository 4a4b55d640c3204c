// Jest setup: the same Node 20 polyfill the CLI and local mode load.
require('../../local/polyfills.js');
