#pragma once
/* NCURSES_WIDECHAR must precede curses.h, or cchar_t / wget_wch / WACS_* are missing.
   See ../shared/docs/swift-ncurses-notes.md for why each accessor below exists. */
#define NCURSES_WIDECHAR 1
#include <locale.h>
#include <langinfo.h>
#include <string.h>
#include <stdio.h>
#include <wchar.h>
#include <ncursesw/curses.h>
extern int wcwidth(wchar_t c);

static inline WINDOW *cn_stdscr(void) { return stdscr; }
static inline int cn_cols(void) { return COLS; }
static inline int cn_lines(void) { return LINES; }
static inline int cn_colors(void) { return COLORS; }
static inline int cn_color_pairs(void) { return COLOR_PAIRS; }
static inline void cn_set_escdelay(int ms) { set_escdelay(ms); }
static inline int cn_key_f(int n) { return KEY_F(n); }
static const attr_t CN_A_NORMAL = A_NORMAL;
static const attr_t CN_A_BOLD = A_BOLD;
static const attr_t CN_A_REVERSE = A_REVERSE;
static const attr_t CN_A_UNDERLINE = A_UNDERLINE;
static const attr_t CN_A_DIM = A_DIM;
static inline attr_t cn_color_pair(int n) { return (attr_t)COLOR_PAIR(n); }
static inline chtype cn_ACS_HLINE(void) { return ACS_HLINE; }
static inline chtype cn_ACS_VLINE(void) { return ACS_VLINE; }
static inline SCREEN *cn_newterm_stdio(const char *t) { return newterm(t, stdout, stdin); }
static inline int cn_locale_is_utf8(void) {
    const char *cs = nl_langinfo(CODESET);
    return cs && (strncmp(cs, "UTF-8", 5) == 0 || strncmp(cs, "utf8", 4) == 0);
}

/* ---- Added for TerminalUI (console issue 6) ---- */
#include <signal.h>
#include <unistd.h>
static const attr_t CN_A_ITALIC = A_ITALIC;

/* The screen the fatal-signal handler restores; set by cn_install_fatal_handlers. */
static SCREEN *cn_fatal_screen_ = 0;

/* On a crash (Swift traps raise SIGILL/SIGTRAP; also SEGV, BUS, FPE, ABRT) leave curses
   mode before dying, so the user's shell is usable. endwin() is not async-signal-safe, but
   the process is dying anyway and the alternative is a terminal left in raw mode. The
   signal is then re-raised with the default action, so the exit status and core dump are
   what they would have been. */
static void cn_fatal_handler_(int sig) {
    if (cn_fatal_screen_) { set_term(cn_fatal_screen_); endwin(); }
    static const char msg[] = "\r\nsamsa console: fatal signal, terminal restored\r\n";
    (void)!write(2, msg, sizeof msg - 1);
    signal(sig, SIG_DFL);
    raise(sig);
}

static inline void cn_install_fatal_handlers(SCREEN *s) {
    cn_fatal_screen_ = s;
    int sigs[] = { SIGSEGV, SIGBUS, SIGILL, SIGTRAP, SIGFPE, SIGABRT };
    for (unsigned i = 0; i < sizeof sigs / sizeof sigs[0]; i++) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = cn_fatal_handler_;
        sa.sa_flags = SA_RESETHAND;
        sigaction(sigs[i], &sa, 0);
    }
}

static inline void cn_clear_fatal_handlers(void) { cn_fatal_screen_ = 0; }

/* Whether the terminal can position the cursor (TERM=dumb cannot: nothing would show). */
static inline int cn_has_cursor_addressing(void) {
    const char *cup = tigetstr("cup");
    return cup != 0 && cup != (char *)-1;
}

/* ---- Mouse (issue 10 item 14): xterm mouse reporting through ncurses ---- */
/* Button 1 presses and the wheel (buttons 4/5, mouse protocol version 2). mouseinterval(0):
   no click detection, so a press is reported at once instead of after 166 ms. */
static inline int cn_enable_mouse(int on) {
    mmask_t old = 0;
    mmask_t want = 0;
    if (on) {
        want = BUTTON1_PRESSED | BUTTON4_PRESSED;
#ifdef BUTTON5_PRESSED
        want |= BUTTON5_PRESSED;
#endif
        mouseinterval(0);
    }
    return mousemask(want, &old) != 0;
}
static inline int cn_get_mouse(int *x, int *y, unsigned long *bstate) {
    MEVENT e;
    if (getmouse(&e) != OK) return 0;
    *x = e.x; *y = e.y; *bstate = (unsigned long)e.bstate;
    return 1;
}
static const unsigned long CN_BUTTON1_PRESSED = BUTTON1_PRESSED;
static const unsigned long CN_BUTTON4_PRESSED = BUTTON4_PRESSED;
#ifdef BUTTON5_PRESSED
static const unsigned long CN_BUTTON5_PRESSED = BUTTON5_PRESSED;
#else
static const unsigned long CN_BUTTON5_PRESSED = 0;
#endif
static const int CN_KEY_MOUSE = KEY_MOUSE;
