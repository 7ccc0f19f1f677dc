using System.Net.Sockets;
using System.Runtime.InteropServices;
using AotMilter.Server.Interop;
using Microsoft.Win32.SafeHandles;

namespace AotMilter.Server;

/// <summary>
/// The file of a listening unix socket: preparing its path before bind, its owner, group and mode after, and its
/// removal at exit. The directory it lives in may be writable by the user the daemon becomes (<c>-u</c>), while these
/// steps still run as root: none of them acts on whatever the name happens to point to at that moment.
/// </summary>
internal sealed class UnixSocketFile
{
    private UnixSocketFile(string path, FileIdentity identity)
    {
        Path = path;
        Identity = identity;
    }

    public string Path { get; }

    /// <summary>The socket file as found right after bind: what must still be at <see cref="Path"/> to be changed or removed.</summary>
    public FileIdentity Identity { get; }

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
            string? dir = System.IO.Path.GetDirectoryName(path);
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

    /// <summary>
    /// Binds <paramref name="socket"/> to <paramref name="path"/> (see <see cref="PrepareForBind"/>), then sets the new
    /// file's owner, group and mode (see <see cref="SetAccess"/>); a file whose access cannot be set is removed again.
    /// </summary>
    /// <exception cref="IOException">The path cannot be bound, or was replaced, or its access cannot be set.</exception>
    public static UnixSocketFile Bind(Socket socket, string path, UnixFileMode mode, string? group, uint owner)
    {
        BindByHand(socket, path);
        UnixSocketFile file = Find(path);
        try
        {
            file.SetAccess(mode, group, owner);
        }
        catch (IOException)
        {
            try
            {
                file.RemoveIfStillOurs();
            }
            catch (IOException)
            {
                // The start fails with the first reason; a socket left behind is replaced by the next start.
            }

            throw;
        }

        return file;
    }

    /// <summary>
    /// The socket file now at <paramref name="path"/>: called right after bind (or for a socket the service manager
    /// bound), it remembers which file that is, so that later steps can tell it from a file put there since. A user who
    /// swaps the name even before this look-up gets nothing past it but a socket, one it bound itself in a directory
    /// where it could replace the daemon's socket anyway.
    /// </summary>
    /// <exception cref="IOException">Nothing, or something other than a socket, is at the path.</exception>
    public static UnixSocketFile Find(string path)
    {
        if (!Libc.TryGetLinkStatus(path, out FileStatus status))
        {
            throw new IOException($"cannot find socket {path} after binding it: {Marshal.GetLastPInvokeErrorMessage()}");
        }

        if (status.Type != FileType.Socket)
        {
            throw new IOException($"{path} is {status.Describe()}, not the socket bound there; refusing to change it");
        }

        return new UnixSocketFile(path, status.Identity);
    }

    /// <summary>
    /// Sets the socket file's owner (<see cref="uint.MaxValue"/>: unchanged), its group (by name, when given or when a
    /// "postfix" group exists) and its mode.
    /// </summary>
    /// <exception cref="IOException">The group does not exist, the path no longer names this socket, or a change failed.</exception>
    public void SetAccess(UnixFileMode mode, string? group, uint owner)
    {
        string? groupName = group;
        if (groupName is null && Libc.TryGetGroup("postfix", out _))
        {
            groupName = "postfix";
        }

        uint gid = uint.MaxValue;
        if (groupName is not null && !Libc.TryGetGroup(groupName, out gid))
        {
            throw new IOException($"socket group '{groupName}' does not exist");
        }

        // fchown and fchmod on the listening socket's own descriptor change its inode in sockfs, not this file; chown
        // and chmod by name act on whatever the name stands for by then, and a user who may write to the directory can
        // swap it for a symbolic link between bind and that call. A umask around bind would set the mode only (not the
        // owner or group) and is process-wide; binding in a directory only root can write and renaming into place needs
        // such a directory beside every socket. Instead the name is opened once without following a link (O_PATH opens
        // a socket file without connecting to it), the descriptor is checked to be the file found right after bind,
        // and both changes go through it: whatever the name stands for afterwards, only that file changes.
        using SafeFileHandle file = Libc.Open(Path, Libc.O_PATH | Libc.O_NOFOLLOW | Libc.O_CLOEXEC, 0);
        if (file.IsInvalid)
        {
            throw new IOException($"cannot open socket {Path} to set its access: {Marshal.GetLastPInvokeErrorMessage()}");
        }

        if (!Libc.TryGetStatus(file, out FileStatus status) || status.Type != FileType.Socket || status.Identity != Identity)
        {
            throw new IOException($"{Path} was replaced after it was bound; refusing to change the file now there");
        }

        if ((owner != uint.MaxValue || gid != uint.MaxValue) && Libc.ChangeOwner(file, owner, gid) != 0)
        {
            string whom = owner == uint.MaxValue ? $"group {groupName}" : $"uid {owner}" + (groupName is null ? "" : $" and group {groupName}");
            throw new IOException($"cannot give {Path} to {whom}: {Marshal.GetLastPInvokeErrorMessage()}");
        }

        if (Libc.ChangeModeThroughPathDescriptor(file, mode) != 0)
        {
            throw new IOException($"cannot set the mode of {Path}: {Marshal.GetLastPInvokeErrorMessage()}");
        }
    }

    /// <summary>
    /// Removes the socket file, unless the path names another file by now: a new instance that started while this one
    /// was draining its connections replaced the stale socket with its own, and that one must stay.
    /// </summary>
    /// <returns>False when another file is at the path (left alone); true when ours was removed or is gone already.</returns>
    /// <exception cref="IOException">The file could not be removed (for example, no write permission on its directory).</exception>
    public bool RemoveIfStillOurs()
    {
        if (!Libc.TryGetLinkStatus(Path, out FileStatus status))
        {
            return true;
        }

        if (status.Identity != Identity)
        {
            return false;
        }

        // There is no "unlink if still this inode" call: a replacement made between the check above and this unlink
        // would still be removed. The window is two system calls long, against a new instance that must first find the
        // old socket stale, remove it and bind its own, so the check closes the race in practice, if not in principle.
        if (Libc.Unlink(Path) != 0 && Libc.LastError != Libc.ENOENT)
        {
            throw new IOException(Marshal.GetLastPInvokeErrorMessage());
        }

        return true;
    }

    /// <summary>
    /// bind(2) on the socket's descriptor rather than <see cref="Socket.Bind"/>: a socket bound by .NET removes its file
    /// by name when it is disposed (dotnet/runtime#45537), whatever file the name stands for by then; here the file is
    /// only ever removed by <see cref="RemoveIfStillOurs"/>, which checks.
    /// </summary>
    private static unsafe void BindByHand(Socket socket, string path)
    {
        // struct sockaddr_un: sa_family_t sun_family (AF_UNIX = 1), then the path and its terminating NUL (108 bytes).
        const int PathOffset = 2, PathCapacity = 108;
        int length = System.Text.Encoding.UTF8.GetByteCount(path);
        if (length >= PathCapacity)
        {
            throw new IOException($"socket path {path} is {length} bytes long; a unix socket path has at most {PathCapacity - 1}");
        }

        byte* address = stackalloc byte[PathOffset + PathCapacity];
        new Span<byte>(address, PathOffset + PathCapacity).Clear();
        *(ushort*)address = 1;
        System.Text.Encoding.UTF8.GetBytes(path, new Span<byte>(address + PathOffset, length));
        bool added = false;
        try
        {
            socket.SafeHandle.DangerousAddRef(ref added);
            if (Libc.Bind((int)socket.SafeHandle.DangerousGetHandle(), address, (uint)(PathOffset + length + 1)) != 0)
            {
                throw new IOException($"cannot bind {path}: {Marshal.GetLastPInvokeErrorMessage()}");
            }
        }
        finally
        {
            if (added)
            {
                socket.SafeHandle.DangerousRelease();
            }
        }
    }

    public static bool IsSocket(string path)
        => Libc.TryGetLinkStatus(path, out FileStatus status) && status.Type == FileType.Socket;
}
