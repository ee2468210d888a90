/* Functions that are too easy to misuse; using one is a compile error (git's banned.h).
 * Include this last in every .c file of the project. */
#ifndef HP_BANNED_H
#define HP_BANNED_H

#define HP_BANNED(func) sorry_##func##_is_banned_in_hybrid_p2p

#undef strcpy
#define strcpy(x, y) HP_BANNED(strcpy)
#undef strcat
#define strcat(x, y) HP_BANNED(strcat)
#undef strncpy
#define strncpy(x, y, n) HP_BANNED(strncpy)
#undef strncat
#define strncat(x, y, n) HP_BANNED(strncat)
#undef sprintf
#define sprintf(...) HP_BANNED(sprintf)
#undef vsprintf
#define vsprintf(...) HP_BANNED(vsprintf)
#undef strtok
#define strtok(x, y) HP_BANNED(strtok)
#undef gmtime
#define gmtime(x) HP_BANNED(gmtime)
#undef localtime
#define localtime(x) HP_BANNED(localtime)
#undef ctime
#define ctime(x) HP_BANNED(ctime)
#undef asctime
#define asctime(x) HP_BANNED(asctime)
#undef gets
#define gets(x) HP_BANNED(gets)

#endif
