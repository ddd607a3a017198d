#!/usr/bin/env -S -u NODE_EXTRA_CA_CERTS node
// mtr-ts-exporter: a long-running monitor of many paths for Prometheus (see the README's exporter section).
import { run } from '../dist/exporter/main.js';

run();
