"""What the tests and the benchmarks both drive the bot with: the in-process harness, the
delivery kit, throwaway PostgreSQL databases, the image and feed servers, `coopbot` run as a
child process, and the spawn/stop/kill helpers for real bot processes. It imports neither
`tests` nor `bench` (tests/test_layers.py checks), so each can use it without the other."""
