namespace AotMilter;

// One attribute per milter event. A method carrying one handles that event; the generator checks its signature
// (parameters are bound by type, in any order) and derives the negotiation from which events are handled.
// Return Verdict to decide, or void when the callback only observes (the MTA is then told not to wait for a reply).

/// <summary>SMTP connection opened. Parameters: <see cref="ConnectInfo"/>, <see cref="MilterContext"/>.</summary>
[AttributeUsage(AttributeTargets.Method, AllowMultiple = false, Inherited = false)]
public sealed class OnConnectAttribute : Attribute;

/// <summary>HELO/EHLO. Parameters: <c>ReadOnlySpan&lt;byte&gt;</c> (the name given), <see cref="MilterContext"/>.</summary>
[AttributeUsage(AttributeTargets.Method, AllowMultiple = false, Inherited = false)]
public sealed class OnHeloAttribute : Attribute;

/// <summary>MAIL FROM. Parameters: <see cref="EnvelopeAddress"/>, <see cref="MilterContext"/>.</summary>
[AttributeUsage(AttributeTargets.Method, AllowMultiple = false, Inherited = false)]
public sealed class OnMailFromAttribute : Attribute;

/// <summary>RCPT TO, once per recipient. Reject and tempfail affect that recipient only.
/// Parameters: <see cref="EnvelopeAddress"/>, <see cref="MilterContext"/>.</summary>
[AttributeUsage(AttributeTargets.Method, AllowMultiple = false, Inherited = false)]
public sealed class OnRcptToAttribute : Attribute;

/// <summary>DATA (protocol version 4 and later). Parameters: <see cref="MilterContext"/>.</summary>
[AttributeUsage(AttributeTargets.Method, AllowMultiple = false, Inherited = false)]
public sealed class OnDataAttribute : Attribute;

/// <summary>One header field. Parameters: <see cref="HeaderField"/>, <see cref="MilterContext"/>.</summary>
[AttributeUsage(AttributeTargets.Method, AllowMultiple = false, Inherited = false)]
public sealed class OnHeaderAttribute : Attribute;

/// <summary>End of headers. Parameters: <see cref="MilterContext"/>.</summary>
[AttributeUsage(AttributeTargets.Method, AllowMultiple = false, Inherited = false)]
public sealed class OnEndOfHeadersAttribute : Attribute;

/// <summary>A chunk of the body (at most 64 KiB, CRLF line ends). May return <see cref="Verdict.Skip"/>.
/// Parameters: <c>ReadOnlySpan&lt;byte&gt;</c>, <see cref="MilterContext"/>.</summary>
[AttributeUsage(AttributeTargets.Method, AllowMultiple = false, Inherited = false)]
public sealed class OnBodyAttribute : Attribute;

/// <summary>End of message: the only place modifications can be made.
/// Parameters: <see cref="MessageEditor"/>, <see cref="MilterContext"/>.</summary>
[AttributeUsage(AttributeTargets.Method, AllowMultiple = false, Inherited = false)]
public sealed class OnEndOfMessageAttribute : Attribute;

/// <summary>The MTA abandoned the current message. Returns void. Parameters: <see cref="MilterContext"/>.</summary>
[AttributeUsage(AttributeTargets.Method, AllowMultiple = false, Inherited = false)]
public sealed class OnAbortAttribute : Attribute;

/// <summary>The SMTP connection ended; called exactly once per connection. Returns void.
/// Parameters: <see cref="MilterContext"/>.</summary>
[AttributeUsage(AttributeTargets.Method, AllowMultiple = false, Inherited = false)]
public sealed class OnCloseAttribute : Attribute;

/// <summary>An SMTP command the MTA does not know (the MTA rejects it; the filter may choose the reply).
/// Parameters: <c>ReadOnlySpan&lt;byte&gt;</c> (the command line), <see cref="MilterContext"/>.</summary>
[AttributeUsage(AttributeTargets.Method, AllowMultiple = false, Inherited = false)]
public sealed class OnUnknownAttribute : Attribute;
