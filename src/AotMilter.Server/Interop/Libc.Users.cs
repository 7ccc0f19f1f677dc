using System.Runtime.InteropServices;

namespace AotMilter.Server.Interop;

/// <summary>
/// Users and groups: what the socket file's group (<c>--socket-group</c>) and the CLI's <c>-u USER</c> need, declared
/// once for both. Ownership changes go through descriptors (Libc.Files).
/// </summary>
internal static partial class Libc
{
    /// <summary>The uid and primary gid of user <paramref name="name"/>; false when there is no such user.</summary>
    public static bool TryGetUser(string name, out uint uid, out uint gid)
    {
        uid = gid = 0;
        nint entry = GetPasswordEntry(name);
        if (entry == 0)
        {
            return false;
        }

        // struct passwd { char *pw_name; char *pw_passwd; uid_t pw_uid; gid_t pw_gid; ... }
        uid = (uint)Marshal.ReadInt32(entry, 2 * IntPtr.Size);
        gid = (uint)Marshal.ReadInt32(entry, (2 * IntPtr.Size) + 4);
        return true;
    }

    /// <summary>The gid of group <paramref name="name"/>; false when there is no such group.</summary>
    public static bool TryGetGroup(string name, out uint gid)
    {
        gid = 0;
        nint entry = GetGroupEntry(name);
        if (entry == 0)
        {
            return false;
        }

        // struct group { char *gr_name; char *gr_passwd; gid_t gr_gid; char **gr_mem; }
        gid = (uint)Marshal.ReadInt32(entry, 2 * IntPtr.Size);
        return true;
    }

    [LibraryImport("libc", EntryPoint = "geteuid")]
    public static partial uint GetEffectiveUserId();

    [LibraryImport("libc", EntryPoint = "setgroups", SetLastError = true)]
    public static partial int SetGroups(nuint size, uint[] groups);

    [LibraryImport("libc", EntryPoint = "setgid", SetLastError = true)]
    public static partial int SetGroupId(uint gid);

    [LibraryImport("libc", EntryPoint = "setuid", SetLastError = true)]
    public static partial int SetUserId(uint uid);

    [LibraryImport("libc", EntryPoint = "getpwnam", StringMarshalling = StringMarshalling.Utf8)]
    private static partial nint GetPasswordEntry(string name);

    [LibraryImport("libc", EntryPoint = "getgrnam", StringMarshalling = StringMarshalling.Utf8)]
    private static partial nint GetGroupEntry(string name);
}
