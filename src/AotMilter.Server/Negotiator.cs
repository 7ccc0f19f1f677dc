using AotMilter.Protocol;

namespace AotMilter.Server;

/// <summary>Computes the answer to the MTA's option negotiation from what it offers and what the chain needs.</summary>
public static class Negotiator
{
    /// <summary>
    /// The reply to send. The version is the lower of ours and the MTA's; actions must all be offered (otherwise the
    /// filters could not do their job, and the connection is refused with a reason); protocol bits are the requested
    /// ones the MTA offers — an event we wanted skipped but the MTA still sends is answered with continue, and an
    /// event we wanted no reply for but must answer gets continue too.
    /// </summary>
    /// <exception cref="MilterProtocolException">The MTA's version is below 2, or it does not offer a needed action.</exception>
    public static OptionNegotiation Negotiate(OptionNegotiation offered, ProtocolFlags wanted, ActionFlags needed)
    {
        if (offered.Version < OptionNegotiation.MinVersion)
        {
            MilterProtocolException.Throw(MilterProtocolError.UnsupportedVersion,
                $"MTA offers milter protocol version {offered.Version}; at least {OptionNegotiation.MinVersion} is required");
        }

        ActionFlags missing = needed & ~offered.Actions;
        if (missing != ActionFlags.None)
        {
            MilterProtocolException.Throw(MilterProtocolError.ActionsNotOffered,
                $"MTA offers actions 0x{(uint)offered.Actions:x} but the filters need 0x{(uint)needed:x} (missing: {missing})");
        }

        uint version = Math.Min(offered.Version, OptionNegotiation.MaxVersion);
        return new OptionNegotiation(version, needed, wanted & offered.Protocol);
    }
}
