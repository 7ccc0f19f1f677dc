namespace AotMilter.Protocol;

/// <summary>SMFIF_* bits: the modifications a milter may make at end of message.</summary>
[System.Flags]
public enum ActionFlags : uint
{
    None = 0,
    AddHeaders = 0x1,
    ChangeBody = 0x2,
    AddRecipient = 0x4,
    DeleteRecipient = 0x8,
    ChangeHeaders = 0x10,
    Quarantine = 0x20,
    ChangeSender = 0x40,
    AddRecipientWithArgs = 0x80,
    SetSymbolList = 0x100,

    /// <summary>SMFI_CURR_ACTS: everything protocol version 6 defines.</summary>
    AllVersion6 = 0x1FF,
}
