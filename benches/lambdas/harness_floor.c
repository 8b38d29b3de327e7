/* The cold-start harness's floor (benches/lambdas/cold_start.py): a process that asks the Runtime API for its
   first event at once, so that what a bootstrap adds to it can be told from what the harness costs.
   Build: gcc -O2 -o harness-floor benches/lambdas/harness_floor.c */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/socket.h>
int main(void) {
  const char *api = getenv("AWS_LAMBDA_RUNTIME_API");
  char host[64]; int port; sscanf(api, "%63[^:]:%d", host, &port);
  int s = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {0}; a.sin_family = AF_INET; a.sin_port = htons(port); inet_pton(AF_INET, host, &a.sin_addr);
  if (connect(s, (struct sockaddr*)&a, sizeof a)) return 1;
  const char *req = "GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nHost: x\r\n\r\n";
  write(s, req, strlen(req)); char buf[256]; read(s, buf, sizeof buf); return 0;
}
