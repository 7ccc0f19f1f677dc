namespace AotMilter.Generators.Model;

/// <summary>The types a callback parameter may have; parameters are bound by type.</summary>
internal enum ParameterKind
{
    Context,
    ConnectInfo,
    Bytes,
    EnvelopeAddress,
    HeaderField,
    MessageEditor,
}
