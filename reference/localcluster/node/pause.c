/* The pod sandbox's process (the image containerd's sandbox_image names), after
   kubernetes/build/pause/linux/pause.c: it holds the pod's namespaces, exits on SIGINT or
   SIGTERM, and reaps zombies when it is PID 1 of a shared PID namespace. Built static
   (gcc -static), so its image is this one file. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void sigdown(int signo) {
  psignal(signo, "Shutting down, got signal");
  exit(0);
}

static void sigreap(int signo) {
  (void)signo;
  while (waitpid(-1, NULL, WNOHANG) > 0) {
  }
}

int main(int argc, char **argv) {
  if (argc > 1 && !strcmp(argv[1], "-v")) {
    puts("pause (vinylvault-gate)");
    return 0;
  }
  if (getpid() != 1) fprintf(stderr, "Warning: pause should be the first process\n");
  struct sigaction down = {.sa_handler = sigdown};
  if (sigaction(SIGINT, &down, NULL) < 0 || sigaction(SIGTERM, &down, NULL) < 0) return 1;
  struct sigaction reap = {.sa_handler = sigreap, .sa_flags = SA_NOCLDSTOP};
  if (sigaction(SIGCHLD, &reap, NULL) < 0) return 3;
  for (;;) pause();
}
