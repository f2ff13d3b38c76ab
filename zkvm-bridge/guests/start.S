# Entry point for Nexus RV32IM guests: set sp and gp, call main, exit(main's return value).
# .bss needs no clearing: the ELF loader (ours and qemu's) zero-fills memsz beyond filesz.
    .section .text.start, "ax"
    .globl _start
_start:
    .option push
    .option norelax
    la gp, __global_pointer$
    .option pop
    la sp, __stack_top
    call main
    li a7, 93
    ecall
1:  j 1b
