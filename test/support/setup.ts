// Jest setup: the same Node 20 polyfill the CLI and local mode load.
require('../../local/polyfills.js');
// Tests assert the CLI's plain text: jest's workers get FORCE_COLOR=1 when jest runs in a colour
// terminal, which would colour the CLI's output (and that of every process a test spawns). Tests of
// colour pass their own environment.
delete process.env.FORCE_COLOR;
delete process.env.NO_COLOR;
