/* How far apart two CPUs are: the mean round trip of a cache line bounced between a thread on
 * each (default CPUs 0 and 1). On a virtual machine the host may run the two virtual CPUs on
 * cores that share a cache (tens of nanoseconds) or not (hundreds), and multi-threaded
 * inference, whose threads hand tensors to each other, slows down with the distance.
 *
 * Build and run: gcc -O2 -pthread scripts/core_to_core.c -o core_to_core && ./core_to_core [a b]
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

enum { ROUND_TRIPS = 200000 };

static _Atomic int ball __attribute__((aligned(64)));

static void pin_to(int cpu) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    pthread_setaffinity_np(pthread_self(), sizeof set, &set);
}

static void *return_ball(void *cpu) {
    pin_to(*(int *)cpu);
    for (int i = 0; i < ROUND_TRIPS; i++) {
        while (atomic_load(&ball) != 1) {
        }
        atomic_store(&ball, 0);
    }
    return NULL;
}

int main(int argc, char **argv) {
    int first = argc > 2 ? atoi(argv[1]) : 0, second = argc > 2 ? atoi(argv[2]) : 1;
    pthread_t partner;
    struct timespec start, end;
    pin_to(first);
    pthread_create(&partner, NULL, return_ball, &second);
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (int i = 0; i < ROUND_TRIPS; i++) {
        atomic_store(&ball, 1);
        while (atomic_load(&ball) != 0) {
        }
    }
    clock_gettime(CLOCK_MONOTONIC, &end);
    pthread_join(partner, NULL);
    double ns = (end.tv_sec - start.tv_sec) * 1e9 + (end.tv_nsec - start.tv_nsec);
    printf("CPUs %d and %d: round trip %.0f ns\n", first, second, ns / ROUND_TRIPS);
    return 0;
}
