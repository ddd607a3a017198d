#!/usr/bin/env -S -u NODE_EXTRA_CA_CERTS node
// mtr-ts makes no TLS connection: without NODE_EXTRA_CA_CERTS, Node skips parsing a certificate
// bundle at start (tens of milliseconds where that variable is set).
import { run } from '../dist/cli.js';

run();
