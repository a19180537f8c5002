/* Minimal QEMU TCG plugin (plugin API version 1, QEMU 7.2): counts executed guest instructions
 * (per translated block, inline add) and prints "insns: N" at exit. Debian's qemu-user ships no
 * plugins (no libinsn.so), so this stands in for it:
 *   gcc -shared -fPIC -O2 -o /tmp/libinsncount.so crates/depthwise/tools/qemu-insncount.c
 *   QEMU_CPU=max QEMU_LD_PREFIX=/usr/aarch64-linux-gnu qemu-aarch64 -plugin /tmp/libinsncount.so \
 *     target/aarch64-unknown-linux-gnu/release/examples/dw_insn dwconv_c16__neondot 1
 */
#include <stdint.h>
#include <stdio.h>
#include <stddef.h>
typedef uint64_t qemu_plugin_id_t;
struct qemu_plugin_tb;
enum qemu_plugin_op { QEMU_PLUGIN_INLINE_ADD_U64 };
size_t qemu_plugin_tb_n_insns(const struct qemu_plugin_tb *tb);
void qemu_plugin_register_vcpu_tb_trans_cb(qemu_plugin_id_t id,
    void (*cb)(qemu_plugin_id_t, struct qemu_plugin_tb *));
void qemu_plugin_register_vcpu_tb_exec_inline(struct qemu_plugin_tb *tb, enum qemu_plugin_op op,
    void *ptr, uint64_t imm);
void qemu_plugin_register_atexit_cb(qemu_plugin_id_t id, void (*cb)(qemu_plugin_id_t, void *),
    void *userdata);
__attribute__((visibility("default"))) int qemu_plugin_version = 1;
static uint64_t count;
static void tb_trans(qemu_plugin_id_t id, struct qemu_plugin_tb *tb) {
    (void)id;
    qemu_plugin_register_vcpu_tb_exec_inline(tb, QEMU_PLUGIN_INLINE_ADD_U64, &count,
                                             qemu_plugin_tb_n_insns(tb));
}
static void at_exit(qemu_plugin_id_t id, void *p) {
    (void)id; (void)p;
    fprintf(stderr, "insns: %llu\n", (unsigned long long)count);
}
__attribute__((visibility("default"))) int qemu_plugin_install(qemu_plugin_id_t id,
    const void *info, int argc, char **argv) {
    (void)info; (void)argc; (void)argv;
    qemu_plugin_register_vcpu_tb_trans_cb(id, tb_trans);
    qemu_plugin_register_atexit_cb(id, at_exit, NULL);
    return 0;
}
