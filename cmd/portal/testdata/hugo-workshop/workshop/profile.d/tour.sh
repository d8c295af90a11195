# Sourced by every terminal's login shell.
export FROM_PROFILE=yes
