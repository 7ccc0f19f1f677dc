using System.Runtime.InteropServices;

namespace AotMilter.Cli;

/// <summary>
/// <c>-u USER[:GROUP]</c>: started as root, the daemon binds its socket and then becomes USER, as opendkim's UserID
/// does. glibc applies set*id to every thread of the process, so the runtime's threads change too.
/// </summary>
internal static partial class Privileges
{
    public static bool IsRoot => GetEffectiveUserId() == 0;

    public static uint EffectiveUserId => GetEffectiveUserId();

    /// <summary>Resolves USER[:GROUP] (names or numbers); the group defaults to the user's primary group.</summary>
    public static bool TryResolve(string spec, out uint uid, out uint gid, out string? error)
    {
        uid = gid = 0;
        error = null;
        string userName = spec;
        string? groupName = null;
        int colon = spec.IndexOf(':', StringComparison.Ordinal);
        if (colon >= 0)
        {
            userName = spec[..colon];
            groupName = spec[(colon + 1)..];
        }

        nint pw = GetPasswordEntry(userName);
        if (pw == 0)
        {
            error = $"user '{userName}' does not exist";
            return false;
        }

        // struct passwd { char *pw_name; char *pw_passwd; uid_t pw_uid; gid_t pw_gid; ... }
        uid = (uint)Marshal.ReadInt32(pw, 2 * IntPtr.Size);
        gid = (uint)Marshal.ReadInt32(pw, (2 * IntPtr.Size) + 4);
        if (!string.IsNullOrEmpty(groupName))
        {
            nint gr = GetGroupEntry(groupName);
            if (gr == 0)
            {
                error = $"group '{groupName}' does not exist";
                return false;
            }

            gid = (uint)Marshal.ReadInt32(gr, 2 * IntPtr.Size);
        }

        return true;
    }

    /// <summary>Gives a file (the socket, its directory, the pid file) to the user the daemon becomes, so it can remove them at exit.</summary>
    public static void GiveTo(string path, uint uid, uint gid)
    {
        if (Chown(path, uid, gid) != 0)
        {
            throw new IOException($"cannot give {path} to uid {uid}: {Marshal.GetLastPInvokeErrorMessage()}");
        }
    }

    /// <summary>Becomes uid/gid for good (no supplementary groups but gid and the ones listed), and checks there is no way back.</summary>
    public static void Drop(uint uid, uint gid, IReadOnlyList<uint> extraGroups)
    {
        uint[] groups = [gid, .. extraGroups];
        if (SetGroups((nuint)groups.Length, groups) != 0)
        {
            throw new IOException($"setgroups failed: {Marshal.GetLastPInvokeErrorMessage()}");
        }

        if (SetGroupId(gid) != 0)
        {
            throw new IOException($"setgid({gid}) failed: {Marshal.GetLastPInvokeErrorMessage()}");
        }

        if (SetUserId(uid) != 0)
        {
            throw new IOException($"setuid({uid}) failed: {Marshal.GetLastPInvokeErrorMessage()}");
        }

        if (uid != 0 && SetUserId(0) == 0)
        {
            throw new IOException("privileges could be regained after dropping them; refusing to run");
        }
    }

    [LibraryImport("libc", EntryPoint = "geteuid")]
    private static partial uint GetEffectiveUserId();

    [LibraryImport("libc", EntryPoint = "getpwnam", StringMarshalling = StringMarshalling.Utf8)]
    private static partial nint GetPasswordEntry(string name);

    [LibraryImport("libc", EntryPoint = "getgrnam", StringMarshalling = StringMarshalling.Utf8)]
    private static partial nint GetGroupEntry(string name);

    [LibraryImport("libc", EntryPoint = "chown", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Chown(string path, uint owner, uint group);

    [LibraryImport("libc", EntryPoint = "setgroups", SetLastError = true)]
    private static partial int SetGroups(nuint size, uint[] groups);

    [LibraryImport("libc", EntryPoint = "setgid", SetLastError = true)]
    private static partial int SetGroupId(uint gid);

    [LibraryImport("libc", EntryPoint = "setuid", SetLastError = true)]
    private static partial int SetUserId(uint uid);
}
