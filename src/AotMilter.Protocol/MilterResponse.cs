namespace AotMilter.Protocol;

/// <summary>Response and action bytes the milter sends to the MTA (SMFIR_*).</summary>
public enum MilterResponse : byte
{
    AddRecipient = (byte)'+',
    DeleteRecipient = (byte)'-',
    AddRecipientWithArgs = (byte)'2',
    Shutdown = (byte)'4',
    Accept = (byte)'a',
    ReplaceBody = (byte)'b',
    Continue = (byte)'c',
    Discard = (byte)'d',
    ChangeSender = (byte)'e',
    AddHeader = (byte)'h',
    InsertHeader = (byte)'i',
    ChangeHeader = (byte)'m',
    OptionNegotiation = (byte)'O',
    Progress = (byte)'p',
    Quarantine = (byte)'q',
    Reject = (byte)'r',
    Skip = (byte)'s',
    TempFail = (byte)'t',
    ReplyCode = (byte)'y',
}
