namespace AotMilter.Server.Interop;

/// <summary>The kind of file, as the S_IFMT bits of st_mode.</summary>
internal enum FileType
{
    Fifo = 0x1000,
    CharacterDevice = 0x2000,
    Directory = 0x4000,
    BlockDevice = 0x6000,
    Regular = 0x8000,
    SymbolicLink = 0xA000,
    Socket = 0xC000,
}

/// <summary>One file on one file system: what stays the same while its name may be removed and reused.</summary>
internal readonly record struct FileIdentity(ulong Device, ulong Inode);

/// <summary>The parts of struct statx the daemon checks before it trusts a file.</summary>
internal readonly record struct FileStatus(FileType Type, UnixFileMode Mode, uint Links, uint Owner, uint Group, FileIdentity Identity)
{
    /// <summary>"a symbolic link", "a fifo"...: for messages that say why a file was refused.</summary>
    public string Describe() => Type switch
    {
        FileType.Fifo => "a fifo",
        FileType.CharacterDevice => "a character device",
        FileType.Directory => "a directory",
        FileType.BlockDevice => "a block device",
        FileType.Regular => "a regular file",
        FileType.SymbolicLink => "a symbolic link",
        FileType.Socket => "a socket",
        _ => "an unknown kind of file",
    };
}
