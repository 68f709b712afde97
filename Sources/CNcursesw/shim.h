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
