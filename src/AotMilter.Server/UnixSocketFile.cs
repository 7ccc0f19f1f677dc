using System.Net.Sockets;
using System.Runtime.InteropServices;
using AotMilter.Server.Interop;

namespace AotMilter.Server;

/// <summary>Preparing the path of a unix socket and setting its owner group and mode.</summary>
internal static partial class UnixSocketFile
{
    /// <summary>
    /// Makes sure <paramref name="path"/> can be bound: a stale socket (nothing accepts on it) is removed; a live one,
    /// or any file that is not a socket, is left alone and reported.
    /// </summary>
    /// <exception cref="IOException">The path is in use or is not a socket.</exception>
    public static void PrepareForBind(string path)
    {
        var info = new FileInfo(path);
        if (!info.Exists && !Directory.Exists(path))
        {
            string? dir = Path.GetDirectoryName(path);
            if (dir is not null && !Directory.Exists(dir))
            {
                throw new IOException($"cannot create socket {path}: directory {dir} does not exist");
            }

            return;
        }

        if (Directory.Exists(path) || !IsSocket(path))
        {
            throw new IOException($"{path} exists and is not a socket; refusing to delete it");
        }

        using (var probe = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified))
        {
            try
            {
                probe.Connect(new UnixDomainSocketEndPoint(path));
                throw new IOException($"{path} is in use: another process accepts connections on it");
            }
            catch (SocketException)
            {
                // Nobody listens: a socket left behind by a daemon that did not shut down cleanly.
            }
        }

        File.Delete(path);
    }

    /// <summary>Sets the socket file's group (by name, when given or when a "postfix" group exists) and mode.</summary>
    /// <exception cref="IOException">The group does not exist or the change failed.</exception>
    public static void SetAccess(string path, UnixFileMode mode, string? group)
    {
        string? groupName = group;
        if (groupName is null && Libc.TryGetGroup("postfix", out _))
        {
            groupName = "postfix";
        }

        if (groupName is not null)
        {
            if (!Libc.TryGetGroup(groupName, out uint gid))
            {
                throw new IOException($"socket group '{groupName}' does not exist");
            }

            if (Libc.Chown(path, uint.MaxValue, gid) != 0)
            {
                throw new IOException($"cannot give {path} to group {groupName}: {Marshal.GetLastPInvokeErrorMessage()}");
            }
        }

        File.SetUnixFileMode(path, mode);
    }

    public static bool IsSocket(string path)
        => Stat(path, out uint mode) == 0 && (mode & 0xF000) == 0xC000;

    private static int Stat(string path, out uint mode)
    {
        // statx is the stable way to read st_mode without depending on struct stat's per-architecture layout.
        Span<byte> buffer = stackalloc byte[256];
        int rc = StatX(-100 /* AT_FDCWD */, path, 0x100 /* AT_SYMLINK_NOFOLLOW */, 0x2 /* STATX_MODE */, ref MemoryMarshal.GetReference(buffer));
        mode = rc == 0 ? BitConverter.ToUInt16(buffer[28..]) : 0u;
        return rc;
    }

    [LibraryImport("libc", EntryPoint = "statx", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int StatX(int dirfd, string path, int flags, uint mask, ref byte statxBuffer);
}
