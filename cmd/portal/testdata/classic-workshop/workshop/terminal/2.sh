#!/bin/bash
# Runs instead of the shell in terminal 2.
echo "Terminal 2 runs workshop/terminal/2.sh"
exec bash -l
