// Descriptors a run's remote shell holds its host locks on (fd 9: root's lock, fd 8: the login
// user's). Every probe and step closes them, so nothing a run starts can keep a lock alive.
export const LOCK_FDS = [8, 9] as const;

// Redirections that close the lock descriptors for one command of the run shell.
export const CLOSE_LOCK_FDS = LOCK_FDS.map((fd) => `${fd}>&-`).join(' ');
