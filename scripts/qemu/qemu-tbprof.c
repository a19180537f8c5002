/* QEMU TCG plugin (API version 1, QEMU 7.2): executed-instruction counts per translated block,
 * written to ./tbprof.txt as "vaddr n_insns exec_count" (map to symbols with nm;
 * qemu-aarch64 loads a PIE at 0x5500000000): where a run's instructions go.
 *   gcc -O2 -shared -fPIC -o /tmp/libqemu-tbprof.so scripts/qemu/qemu-tbprof.c
 *   qemu-aarch64 -cpu cortex-a53 -L /usr/aarch64-linux-gnu -plugin /tmp/libqemu-tbprof.so \
 *     target/aarch64-unknown-linux-gnu/release/kbench bench --iterations 3 --only D1 ...
 * (moved from crates/depthwise/tools/) */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <stddef.h>
typedef uint64_t qemu_plugin_id_t;
struct qemu_plugin_tb;
enum qemu_plugin_cb_flags { QEMU_PLUGIN_CB_NO_REGS };
size_t qemu_plugin_tb_n_insns(const struct qemu_plugin_tb *tb);
uint64_t qemu_plugin_tb_vaddr(const struct qemu_plugin_tb *tb);
void qemu_plugin_register_vcpu_tb_trans_cb(qemu_plugin_id_t id, void (*cb)(qemu_plugin_id_t, struct qemu_plugin_tb *));
void qemu_plugin_register_vcpu_tb_exec_cb(struct qemu_plugin_tb *tb, void (*cb)(unsigned int, void *), enum qemu_plugin_cb_flags flags, void *userdata);
void qemu_plugin_register_atexit_cb(qemu_plugin_id_t id, void (*cb)(qemu_plugin_id_t, void *), void *userdata);
__attribute__((visibility("default"))) int qemu_plugin_version = 1;
struct rec { uint64_t va, n, cnt; struct rec *next; };
static struct rec *all;
static void exec_cb(unsigned int i, void *u) { (void)i; ((struct rec *)u)->cnt++; }
static void tb_trans(qemu_plugin_id_t id, struct qemu_plugin_tb *tb) {
    (void)id;
    struct rec *r = calloc(1, sizeof *r);
    r->va = qemu_plugin_tb_vaddr(tb); r->n = qemu_plugin_tb_n_insns(tb); r->next = all; all = r;
    qemu_plugin_register_vcpu_tb_exec_cb(tb, exec_cb, QEMU_PLUGIN_CB_NO_REGS, r);
}
static void at_exit(qemu_plugin_id_t id, void *p) {
    (void)id; (void)p;
    FILE *f = fopen("tbprof.txt", "w");
    for (struct rec *r = all; r; r = r->next) if (r->cnt) fprintf(f, "%llx %llu %llu\n", (unsigned long long)r->va, (unsigned long long)r->n, (unsigned long long)r->cnt);
    fclose(f);
}
__attribute__((visibility("default"))) int qemu_plugin_install(qemu_plugin_id_t id, const void *info, int argc, char **argv) {
    (void)info; (void)argc; (void)argv;
    qemu_plugin_register_vcpu_tb_trans_cb(id, tb_trans);
    qemu_plugin_register_atexit_cb(id, at_exit, NULL);
    return 0;
}
