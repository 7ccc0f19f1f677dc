using System.Runtime.InteropServices;

namespace AotMilter.EndToEnd.Tests.Harness;

/// <summary>
/// What a path names, without following a symbolic link (lstat): the facts the file-safety tests compare before and
/// after the daemon ran. .NET has no API for a file's owner or inode.
/// </summary>
public sealed record FileFacts(UnixFileMode Type, UnixFileMode Mode, uint Owner, uint Group, ulong Inode)
{
    public const UnixFileMode RegularFile = (UnixFileMode)0x8000;
    public const UnixFileMode Directory = (UnixFileMode)0x4000;
    public const UnixFileMode SymbolicLink = (UnixFileMode)0xA000;
    public const UnixFileMode Socket = (UnixFileMode)0xC000;

    public static FileFacts Of(string path)
    {
        // struct statx: uid at 20, gid 24, mode 28 (16 bits), ino 32.
        byte[] b = new byte[256];
        if (StatX(-100 /* AT_FDCWD */, path, 0x100 /* AT_SYMLINK_NOFOLLOW */, 0x7ff /* STATX_BASIC_STATS */, b) != 0)
        {
            throw new IOException($"statx {path}: {Marshal.GetLastPInvokeErrorMessage()}");
        }

        ushort mode = BitConverter.ToUInt16(b, 28);
        return new FileFacts((UnixFileMode)(mode & 0xF000), (UnixFileMode)(mode & 0xFFF), BitConverter.ToUInt32(b, 20), BitConverter.ToUInt32(b, 24), BitConverter.ToUInt64(b, 32));
    }

    public override string ToString() =>
        $"type 0{Convert.ToString((int)Type, 8)} mode 0{Convert.ToString((int)Mode, 8)} owner {Owner}:{Group} inode {Inode}";

    [DllImport("libc", EntryPoint = "statx", SetLastError = true)]
    private static extern int StatX(int dirfd, [MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags, uint mask, byte[] buffer);
}
