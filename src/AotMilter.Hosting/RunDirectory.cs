using System.Runtime.InteropServices;
using AotMilter.Protocol;
using AotMilter.Server.Interop;
using Microsoft.Win32.SafeHandles;

namespace AotMilter.Hosting;

/// <summary>
/// The directory of a unix socket under /run (a tmpfs, empty after a reboot), created at start when it is missing,
/// as systemd's RuntimeDirectory would. With <c>-u</c> a directory created here is given to that user, so that it can
/// remove its socket and pid file at exit; a directory that already exists is never changed, whoever owns it.
/// </summary>
internal static class RunDirectory
{
    private const UnixFileMode Mode0755 = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
        | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute;

    /// <summary>Creates the socket's directory if it is missing and directly under a directory of /run.</summary>
    /// <param name="socket">The socket to listen on (only a unix socket has a directory).</param>
    /// <param name="owner">The user and group the daemon becomes, or null when it stays who it is.</param>
    /// <exception cref="IOException">The directory could not be created or given to the user.</exception>
    public static void EnsureFor(SocketSpec socket, (uint Uid, uint Gid)? owner)
    {
        if (socket.Kind != SocketKind.Unix || Path.GetDirectoryName(socket.Path) is not { } dir || !dir.StartsWith("/run/", StringComparison.Ordinal))
        {
            return;
        }

        // mkdir creates only the last component and fails on anything already there, a symbolic link included: only a
        // directory made by this call is ever given away. A missing parent is reported by the bind that follows.
        if (Libc.MakeDirectory(dir, (uint)Mode0755) != 0)
        {
            int error = Libc.LastError;
            if (error is Libc.EEXIST or Libc.ENOENT)
            {
                return;
            }

            throw new IOException($"cannot create directory {dir}: {Marshal.GetPInvokeErrorMessage(error)}");
        }

        using SafeFileHandle handle = Libc.Open(dir, Libc.O_RDONLY | Libc.O_DIRECTORY | Libc.O_NOFOLLOW | Libc.O_CLOEXEC, 0);
        if (handle.IsInvalid || !Libc.TryGetStatus(handle, out FileStatus status) || status.Owner != Libc.GetEffectiveUserId())
        {
            throw new IOException($"directory {dir} was replaced right after it was created; refusing to use it");
        }

        // Postfix's smtpd (user postfix) must be able to search it, whatever the umask.
        if (Libc.ChangeMode(handle, Mode0755) != 0)
        {
            throw new IOException($"cannot set the mode of {dir}: {Marshal.GetLastPInvokeErrorMessage()}");
        }

        if (owner is { } user && Libc.ChangeOwner(handle, user.Uid, user.Gid) != 0)
        {
            throw new IOException($"cannot give {dir} to uid {user.Uid}: {Marshal.GetLastPInvokeErrorMessage()}");
        }
    }
}
