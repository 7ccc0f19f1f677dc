using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace AotMilter.Server.Interop;

/// <summary>
/// Files the daemon creates or changes while it is still root, in directories its unprivileged user may write to:
/// every call here works on a descriptor or refuses to follow a symbolic link, so a name swapped by that user cannot
/// redirect root's writes, ownership or mode changes to another file.
/// </summary>
internal static unsafe partial class Libc
{
    public const int EEXIST = 17;
    public const int ENOENT = 2;
    public const int ELOOP = 40;
    public const int ENXIO = 6;

    public const int O_RDONLY = 0;
    public const int O_WRONLY = 1;
    public const int O_CREAT = 0x40;
    public const int O_EXCL = 0x80;
    public const int O_NOCTTY = 0x100;
    public const int O_APPEND = 0x400;
    public const int O_NONBLOCK = 0x800;
    public const int O_CLOEXEC = 0x80000;
    public const int O_PATH = 0x200000;

    // The two flags whose values differ between architectures (arm and arm64 keep their own fcntl.h).
    public static readonly int O_DIRECTORY = IsArm ? 0x4000 : 0x10000;
    public static readonly int O_NOFOLLOW = IsArm ? 0x8000 : 0x20000;

    private const int AT_FDCWD = -100;
    private const int AT_SYMLINK_NOFOLLOW = 0x100;
    private const int AT_EMPTY_PATH = 0x1000;
    private const uint STATX_BASIC_STATS = 0x7ff;

    private static bool IsArm => RuntimeInformation.ProcessArchitecture is Architecture.Arm or Architecture.Arm64;

    /// <summary>open(2); the descriptor is owned by the returned handle (invalid on failure, errno in <see cref="LastError"/>).</summary>
    public static SafeFileHandle Open(string path, int flags, uint mode)
    {
        int fd = OpenRaw(path, flags, mode);
        return new SafeFileHandle(fd, ownsHandle: true);
    }

    /// <summary>What the descriptor refers to (fstat through statx).</summary>
    public static bool TryGetStatus(SafeFileHandle file, out FileStatus status)
    {
        bool added = false;
        try
        {
            file.DangerousAddRef(ref added);
            return TryStatX((int)file.DangerousGetHandle(), "", AT_EMPTY_PATH, out status);
        }
        finally
        {
            if (added)
            {
                file.DangerousRelease();
            }
        }
    }

    /// <summary>What <paramref name="path"/> names itself, a symbolic link included (lstat through statx).</summary>
    public static bool TryGetLinkStatus(string path, out FileStatus status)
        => TryStatX(AT_FDCWD, path, AT_SYMLINK_NOFOLLOW, out status);

    /// <summary>
    /// Changes owner and group of the file a descriptor refers to, including an <see cref="O_PATH"/> descriptor
    /// (which plain fchown refuses); <see cref="uint.MaxValue"/> leaves that one unchanged.
    /// </summary>
    public static int ChangeOwner(SafeFileHandle file, uint owner, uint group)
        => WithDescriptor(file, fd => FChownAt(fd, "", owner, group, AT_EMPTY_PATH));

    /// <summary>
    /// Changes the mode of the file a descriptor refers to. fchmod refuses an <see cref="O_PATH"/> descriptor, so this
    /// goes through the descriptor's /proc link, which the kernel resolves to that very inode (glibc's lchmod does the
    /// same): the name the file was opened by is not looked up again.
    /// </summary>
    public static int ChangeModeThroughPathDescriptor(SafeFileHandle file, UnixFileMode mode)
        => WithDescriptor(file, fd => ChMod($"/proc/self/fd/{fd}", (uint)mode));

    /// <summary>fchmod(2): the mode of the file an ordinary (not <see cref="O_PATH"/>) descriptor refers to.</summary>
    public static int ChangeMode(SafeFileHandle file, UnixFileMode mode)
        => WithDescriptor(file, fd => FChmod(fd, (uint)mode));

    [LibraryImport("libc", EntryPoint = "mkdir", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int MakeDirectory(string path, uint mode);

    [LibraryImport("libc", EntryPoint = "unlink", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Unlink(string path);

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int OpenRaw(string path, int flags, uint mode);

    [LibraryImport("libc", EntryPoint = "fchownat", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int FChownAt(int dirfd, string path, uint owner, uint group, int flags);

    [LibraryImport("libc", EntryPoint = "fchmod", SetLastError = true)]
    private static partial int FChmod(int fd, uint mode);

    [LibraryImport("libc", EntryPoint = "chmod", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int ChMod(string path, uint mode);

    [LibraryImport("libc", EntryPoint = "statx", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int StatX(int dirfd, string path, int flags, uint mask, byte* statxBuffer);

    private static bool TryStatX(int dirfd, string path, int flags, out FileStatus status)
    {
        // statx rather than stat: its layout is the same on every architecture.
        byte* b = stackalloc byte[256];
        if (StatX(dirfd, path, flags, STATX_BASIC_STATS, b) != 0)
        {
            status = default;
            return false;
        }

        status = new FileStatus(
            Type: (FileType)(*(ushort*)(b + 28) & 0xF000),
            Mode: (UnixFileMode)(*(ushort*)(b + 28) & 0xFFF),
            Links: *(uint*)(b + 16),
            Owner: *(uint*)(b + 20),
            Group: *(uint*)(b + 24),
            Identity: new FileIdentity(((ulong)*(uint*)(b + 136) << 32) | *(uint*)(b + 140), *(ulong*)(b + 32)));
        return true;
    }

    private static int WithDescriptor(SafeFileHandle file, Func<int, int> call)
    {
        bool added = false;
        try
        {
            file.DangerousAddRef(ref added);
            return call((int)file.DangerousGetHandle());
        }
        finally
        {
            if (added)
            {
                file.DangerousRelease();
            }
        }
    }
}
