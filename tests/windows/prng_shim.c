/*
 * Test-only bcryptprimitives.dll for Wine 8.0 (Debian bookworm), which has none: Rust's
 * standard library asks it for ProcessPrng before main. Real Windows (10 and later) and Wine
 * 8.13+ have their own; this file is never shipped, only copied into the test's WINEPREFIX.
 * ProcessPrng fills the buffer from the system's generator (RtlGenRandom, advapi32's
 * SystemFunction036).
 */
#include <windows.h>

BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T length)
{
    while (length > 0) {
        ULONG chunk = length > 0x7FFFFFFF ? 0x7FFFFFFF : (ULONG)length;
        if (!SystemFunction036(data, chunk))
            return FALSE;
        data += chunk;
        length -= chunk;
    }
    return TRUE;
}
