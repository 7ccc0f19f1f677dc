using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using AotMilter.Server.Interop;
using Microsoft.Win32.SafeHandles;

namespace AotMilter.Hosting;

/// <summary>
/// <c>--pid-file PATH</c>, written as root before <c>-u</c> takes effect, often into a directory the daemon's user can
/// write to (its run directory). So the file is always a new one: an old file is removed first and the new one is
/// created exclusively, which never follows a symbolic link, never opens a fifo or device, and never reuses a file
/// that user may already hold open or has linked elsewhere. Anything at the path other than a regular file is
/// refused, not removed.
/// </summary>
internal sealed class PidFile
{
    private const UnixFileMode Mode0644 = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead;

    private PidFile(string path, FileIdentity identity)
    {
        Path = path;
        Identity = identity;
    }

    public string Path { get; }

    private FileIdentity Identity { get; }

    /// <summary>Writes <paramref name="pid"/> and a newline to a new file at <paramref name="path"/>.</summary>
    /// <exception cref="IOException">Something other than a regular file is at the path, or the file cannot be created.</exception>
    public static PidFile Write(string path, int pid)
    {
        using SafeFileHandle file = CreateNew(path);

        // The file stays the starting user's (root's), mode 0644 whatever the umask: a pid file the unprivileged user
        // could rewrite would let it choose which process root's `kill $(cat PIDFILE)` signals, which is why Debian's
        // start-stop-daemon refuses such files. That user can still remove it at exit where it may write to the
        // directory, which is all it needs.
        if (Libc.ChangeMode(file, Mode0644) != 0)
        {
            throw new IOException($"cannot set the mode of pid file {path}: {Marshal.GetLastPInvokeErrorMessage()}");
        }

        if (!Libc.TryGetStatus(file, out FileStatus status))
        {
            throw new IOException($"cannot read back pid file {path}: {Marshal.GetLastPInvokeErrorMessage()}");
        }

        RandomAccess.Write(file, Encoding.ASCII.GetBytes(pid.ToString(CultureInfo.InvariantCulture) + "\n"), 0);
        return new PidFile(path, status.Identity);
    }

    /// <summary>
    /// Removes the file at exit, unless the path names another file by now (another instance wrote its own since).
    /// </summary>
    /// <returns>Null when removed, gone already or left to its new owner; otherwise why it could not be removed.</returns>
    public string? RemoveIfStillOurs()
    {
        if (!Libc.TryGetLinkStatus(Path, out FileStatus status) || status.Identity != Identity)
        {
            return null;
        }

        return Libc.Unlink(Path) == 0 || Libc.LastError == Libc.ENOENT ? null : Marshal.GetLastPInvokeErrorMessage();
    }

    private static SafeFileHandle CreateNew(string path)
    {
        // A few rounds: whatever is removed may be put back between the two calls, and is looked at afresh each time.
        for (int attempt = 0; ; attempt++)
        {
            SafeFileHandle file = Libc.Open(path, Libc.O_WRONLY | Libc.O_CREAT | Libc.O_EXCL | Libc.O_NOFOLLOW | Libc.O_CLOEXEC | Libc.O_NOCTTY, (uint)Mode0644);
            if (!file.IsInvalid)
            {
                return file;
            }

            int error = Libc.LastError;
            file.Dispose();
            if (error != Libc.EEXIST || attempt == 3)
            {
                throw new IOException($"cannot create pid file {path}: {Marshal.GetPInvokeErrorMessage(error)}");
            }

            if (!Libc.TryGetLinkStatus(path, out FileStatus existing))
            {
                continue;
            }

            if (existing.Type != FileType.Regular)
            {
                throw new IOException($"pid file {path} is {existing.Describe()}, not a regular file; refusing to write through it or remove it");
            }

            // A pid file left by an earlier run (or another instance): replaced by a new file, never rewritten in place.
            if (Libc.Unlink(path) != 0 && Libc.LastError != Libc.ENOENT)
            {
                throw new IOException($"cannot replace pid file {path}: {Marshal.GetLastPInvokeErrorMessage()}");
            }
        }
    }
}
