using System.Collections.Concurrent;
using System.Collections.Immutable;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.Operations;

namespace AotMilter.Generators.Analyzers;

/// <summary>
/// Reports (AOTM026) a <c>MessageEditor</c> that a filter keeps in one of its instance fields or properties and uses
/// outside the end-of-message callback: a read of the member in a method bound only to other callbacks, when the class
/// stores an editor there at all; and a store of an editor there by code other than the end-of-message callback, unless
/// the editor is a parameter of the storing method (a helper that end of message passes its editor to). The editor
/// takes edits for the message whose end-of-message callback is running; the server drops later ones at the next
/// message, or sends them with the message that next reaches its end.
/// </summary>
[DiagnosticAnalyzer(LanguageNames.CSharp)]
public sealed class EditorOutsideEndOfMessageAnalyzer() : FilterCodeAnalyzer(DiagnosticDescriptors.EditorOutsideEndOfMessage)
{
    private protected override void Register(CompilationStartAnalysisContext start, KnownTypes known)
    {
        var kept = new KeptTypes(known);
        start.RegisterSymbolStartAction(c => StartFilterClass(c, known, kept), SymbolKind.NamedType);
    }

    private static void StartFilterClass(SymbolStartAnalysisContext start, KnownTypes known, KeptTypes kept)
    {
        var type = (INamedTypeSymbol)start.Symbol;
        if (!FilterSymbols.IsFilter(type) || !HasEditorMember(type, kept))
        {
            return;
        }

        var stores = new ConcurrentQueue<Use>();
        var reads = new ConcurrentQueue<Use>();
        start.RegisterOperationAction(
            c =>
            {
                var reference = (IMemberReferenceOperation)c.Operation;
                if (!IsEditorMember(reference.Member, type, kept))
                {
                    return;
                }

                if (StoredValue(reference) is not { } value)
                {
                    reads.Enqueue(new Use(reference.Member, c.ContainingSymbol, reference.Syntax.GetLocation(), Handed: false));
                }
                else if (!IsNull(value))
                {
                    // Only an editor itself can be stored outside end of message by mistake: a collection created
                    // for them (in a constructor, say) is not one.
                    IOperation stored = Unwrapped(value);
                    bool handed = !SymbolEqualityComparer.Default.Equals(stored.Type, known.MessageEditor)
                        || (stored is IParameterReferenceOperation parameter
                            && SymbolEqualityComparer.Default.Equals(parameter.Parameter.ContainingSymbol, c.ContainingSymbol));
                    stores.Enqueue(new Use(reference.Member, c.ContainingSymbol, c.Operation.Parent!.Syntax.GetLocation(), handed));
                }
            },
            OperationKind.FieldReference,
            OperationKind.PropertyReference);
        start.RegisterOperationAction(
            c =>
            {
                var initializer = (ISymbolInitializerOperation)c.Operation;
                ImmutableArray<ISymbol> members = initializer switch
                {
                    IFieldInitializerOperation field => field.InitializedFields.CastArray<ISymbol>(),
                    IPropertyInitializerOperation property => property.InitializedProperties.CastArray<ISymbol>(),
                    _ => [],
                };
                foreach (ISymbol member in members)
                {
                    if (IsEditorMember(member, type, kept) && !IsNull(initializer.Value))
                    {
                        bool editor = SymbolEqualityComparer.Default.Equals(Unwrapped(initializer.Value).Type, known.MessageEditor);
                        stores.Enqueue(new Use(member, null, initializer.Syntax.GetLocation(), Handed: !editor));
                    }
                }
            },
            OperationKind.FieldInitializer,
            OperationKind.PropertyInitializer);
        start.RegisterSymbolEndAction(c => Report(c, type, known, stores, reads));
    }

    private static void Report(SymbolAnalysisContext context, INamedTypeSymbol type, KnownTypes known, ConcurrentQueue<Use> stores, ConcurrentQueue<Use> reads)
    {
        string typeName = FilterSymbols.TypeName(type);
        var stored = new HashSet<ISymbol>(SymbolEqualityComparer.Default);
        foreach (Use store in stores)
        {
            stored.Add(store.Member);
            if (!store.Handed && !IsEndOfMessage(store.In, known))
            {
                string where = store.In is IMethodSymbol method ? "in '" + Display(method) + "'" : "in its initializer";
                Report(context, store.At, typeName, "stores a MessageEditor in '" + store.Member.Name + "' " + where + ", outside [OnEndOfMessage]");
            }
        }

        foreach (Use read in reads)
        {
            if (stored.Contains(read.Member)
                && read.In is IMethodSymbol method
                && known.EventsBoundTo(method) is { Count: > 0 } events
                && !events.Contains(MilterEvent.EndOfMessage))
            {
                Report(context, read.At, typeName, "uses the MessageEditor kept in '" + read.Member.Name + "' in " + FilterSymbols.AttributeDisplay(events[0]) + " callback '" + method.Name + "'");
            }
        }
    }

    private static void Report(SymbolAnalysisContext context, Location at, string typeName, string what)
        => context.ReportDiagnostic(Diagnostic.Create(DiagnosticDescriptors.EditorOutsideEndOfMessage, at, typeName, what));

    private static bool IsEndOfMessage(ISymbol? symbol, KnownTypes known)
        => symbol is IMethodSymbol method && known.EventsBoundTo(method).Contains(MilterEvent.EndOfMessage);

    private static string Display(IMethodSymbol method)
        => method.MethodKind == MethodKind.Constructor ? "its constructor" : method.Name;

    private static bool HasEditorMember(INamedTypeSymbol type, KeptTypes kept)
    {
        foreach (ISymbol member in type.GetMembers())
        {
            if (IsEditorMember(member, type, kept))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>An instance field or property of the filter class itself whose type is, or holds, a MessageEditor.</summary>
    private static bool IsEditorMember(ISymbol member, INamedTypeSymbol type, KeptTypes kept)
        => !member.IsStatic
            && SymbolEqualityComparer.Default.Equals(member.ContainingType?.OriginalDefinition, type)
            && member switch
            {
                IFieldSymbol { IsImplicitlyDeclared: false } field => kept.NameOf(field.Type) == "MessageEditor",
                IPropertySymbol property => kept.NameOf(property.Type) == "MessageEditor",
                _ => false,
            };

    /// <summary>The value assigned when the reference is the target of <c>=</c> or <c>??=</c>; null when it is read.</summary>
    private static IOperation? StoredValue(IOperation reference) => reference.Parent switch
    {
        ISimpleAssignmentOperation assignment when assignment.Target == reference => assignment.Value,
        ICoalesceAssignmentOperation assignment when assignment.Target == reference => assignment.Value,
        _ => null,
    };

    private static bool IsNull(IOperation value)
    {
        IOperation inner = Unwrapped(value);
        return inner is IDefaultValueOperation || (inner.ConstantValue.HasValue && inner.ConstantValue.Value is null);
    }

    private static IOperation Unwrapped(IOperation operation)
    {
        while (operation is IConversionOperation conversion)
        {
            operation = conversion.Operand;
        }

        return operation;
    }

    /// <summary>
    /// A store or read of an editor member: the member, the symbol whose code it is in, where; for a store, whether it
    /// is fine wherever it is (an editor the storing method was handed, or a value that is not itself an editor).
    /// </summary>
    private readonly record struct Use(ISymbol Member, ISymbol? In, Location At, bool Handed);
}
