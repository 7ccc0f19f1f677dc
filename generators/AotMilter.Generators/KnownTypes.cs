using AotMilter.Generators.Model;
using Microsoft.CodeAnalysis;

namespace AotMilter.Generators;

/// <summary>The Abstractions types, looked up once per parse.</summary>
internal sealed class KnownTypes
{
    private readonly INamedTypeSymbol?[] _callbackAttributes;

    public KnownTypes(Compilation compilation)
    {
        Context = compilation.GetTypeByMetadataName(KnownNames.MilterContext);
        ConnectInfo = compilation.GetTypeByMetadataName(KnownNames.ConnectInfo);
        EnvelopeAddress = compilation.GetTypeByMetadataName(KnownNames.EnvelopeAddress);
        HeaderField = compilation.GetTypeByMetadataName(KnownNames.HeaderField);
        MessageEditor = compilation.GetTypeByMetadataName(KnownNames.MessageEditor);
        Verdict = compilation.GetTypeByMetadataName(KnownNames.Verdict);
        ReadOnlySpan = compilation.GetTypeByMetadataName("System.ReadOnlySpan`1");
        _callbackAttributes = new INamedTypeSymbol?[KnownNames.CallbackAttributes.Length];
        for (int i = 0; i < _callbackAttributes.Length; i++)
        {
            _callbackAttributes[i] = compilation.GetTypeByMetadataName(KnownNames.CallbackAttributes[i]);
        }
    }

    public INamedTypeSymbol? Context { get; }

    public INamedTypeSymbol? ConnectInfo { get; }

    public INamedTypeSymbol? EnvelopeAddress { get; }

    public INamedTypeSymbol? HeaderField { get; }

    public INamedTypeSymbol? MessageEditor { get; }

    public INamedTypeSymbol? Verdict { get; }

    public INamedTypeSymbol? ReadOnlySpan { get; }

    /// <summary>The <see cref="CallbackKind"/> an attribute class stands for, or -1.</summary>
    public int CallbackIndex(INamedTypeSymbol? attributeClass)
    {
        if (attributeClass is null)
        {
            return -1;
        }

        for (int i = 0; i < _callbackAttributes.Length; i++)
        {
            if (SymbolEqualityComparer.Default.Equals(attributeClass, _callbackAttributes[i]))
            {
                return i;
            }
        }

        return -1;
    }

    public ParameterKind? Classify(ITypeSymbol type)
    {
        if (Is(type, Context))
        {
            return ParameterKind.Context;
        }

        if (Is(type, ConnectInfo))
        {
            return ParameterKind.ConnectInfo;
        }

        if (Is(type, EnvelopeAddress))
        {
            return ParameterKind.EnvelopeAddress;
        }

        if (Is(type, HeaderField))
        {
            return ParameterKind.HeaderField;
        }

        if (Is(type, MessageEditor))
        {
            return ParameterKind.MessageEditor;
        }

        if (type is INamedTypeSymbol { IsGenericType: true } named
            && Is(named.OriginalDefinition, ReadOnlySpan)
            && named.TypeArguments[0].SpecialType == SpecialType.System_Byte)
        {
            return ParameterKind.Bytes;
        }

        return null;
    }

    private static bool Is(ITypeSymbol type, INamedTypeSymbol? known)
        => known is not null && SymbolEqualityComparer.Default.Equals(type, known);
}
