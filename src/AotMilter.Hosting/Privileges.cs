using System.Runtime.InteropServices;
using AotMilter.Server.Interop;

namespace AotMilter.Hosting;

/// <summary>
/// <c>-u USER[:GROUP]</c>: started as root, the daemon binds its socket and then becomes USER, as opendkim's UserID
/// does. glibc applies set*id to every thread of the process, so the runtime's threads change too.
/// </summary>
internal static class Privileges
{
    public static bool IsRoot => Libc.GetEffectiveUserId() == 0;

    public static uint EffectiveUserId => Libc.GetEffectiveUserId();

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

        if (!Libc.TryGetUser(userName, out uid, out gid))
        {
            error = $"user '{userName}' does not exist";
            return false;
        }

        if (!string.IsNullOrEmpty(groupName) && !Libc.TryGetGroup(groupName, out gid))
        {
            error = $"group '{groupName}' does not exist";
            return false;
        }

        return true;
    }

    /// <summary>Becomes uid/gid for good (no supplementary groups but gid and the ones listed), and checks there is no way back.</summary>
    public static void Drop(uint uid, uint gid, IReadOnlyList<uint> extraGroups)
    {
        uint[] groups = [gid, .. extraGroups];
        if (Libc.SetGroups((nuint)groups.Length, groups) != 0)
        {
            throw new IOException($"setgroups failed: {Marshal.GetLastPInvokeErrorMessage()}");
        }

        if (Libc.SetGroupId(gid) != 0)
        {
            throw new IOException($"setgid({gid}) failed: {Marshal.GetLastPInvokeErrorMessage()}");
        }

        if (Libc.SetUserId(uid) != 0)
        {
            throw new IOException($"setuid({uid}) failed: {Marshal.GetLastPInvokeErrorMessage()}");
        }

        if (uid != 0 && Libc.SetUserId(0) == 0)
        {
            throw new IOException("privileges could be regained after dropping them; refusing to run");
        }
    }
}
