namespace AotMilter.Protocol;

/// <summary>SMFIA_* address families in the connect command.</summary>
public enum ConnectFamily : byte
{
    Unknown = (byte)'U',
    Unix = (byte)'L',
    IPv4 = (byte)'4',
    IPv6 = (byte)'6',
}
