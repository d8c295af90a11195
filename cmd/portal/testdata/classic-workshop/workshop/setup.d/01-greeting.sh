#!/bin/bash
# Runs once per session before any terminal starts, in the session's home. What it writes
# to $WORKSHOP_ENV is set in every terminal's shell.
echo "SETUP_GREETING=ready-for-$SESSION_NAME" >> "$WORKSHOP_ENV"
